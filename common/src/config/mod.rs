//! Placeholder: being written (see the config helper task).
