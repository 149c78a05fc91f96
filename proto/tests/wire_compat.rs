//! The wire formats of every service and journal message, guarded by a
//! frozen copy of their descriptors (`tests/fixtures/descriptors-v1.bin`,
//! written once by `write_descriptors` and never changed).
//!
//! An older client, worker or master, and every journal already on disk,
//! speak the frozen version. Today's descriptors must keep all of it: every
//! message with every field at the same number, with the same name, type and
//! label; every enum value at its number; every RPC with the same request,
//! response and streaming. Adding is fine; renumbering, retyping, renaming
//! or removing fails here (a field that must go is reserved and this rule
//! changed deliberately).

use std::collections::HashMap;
use std::path::PathBuf;

use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorSet};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/descriptors-v1.bin")
}

/// Every message of `set` by full name (nested ones included).
fn messages(set: &FileDescriptorSet) -> HashMap<String, DescriptorProto> {
    fn walk(prefix: &str, msgs: &[DescriptorProto], out: &mut HashMap<String, DescriptorProto>) {
        for m in msgs {
            let name = format!("{prefix}.{}", m.name());
            walk(&name, &m.nested_type, out);
            out.insert(name, m.clone());
        }
    }
    let mut out = HashMap::new();
    for file in &set.file {
        walk(
            &format!(".{}", file.package()),
            &file.message_type,
            &mut out,
        );
    }
    out
}

/// Every enum value of `set`, by enum full name and value name.
fn enum_values(set: &FileDescriptorSet) -> HashMap<(String, String), i32> {
    fn walk(prefix: &str, msgs: &[DescriptorProto], out: &mut HashMap<(String, String), i32>) {
        for m in msgs {
            let name = format!("{prefix}.{}", m.name());
            for e in &m.enum_type {
                for v in &e.value {
                    out.insert(
                        (format!("{name}.{}", e.name()), v.name().to_string()),
                        v.number(),
                    );
                }
            }
            walk(&name, &m.nested_type, out);
        }
    }
    let mut out = HashMap::new();
    for file in &set.file {
        let prefix = format!(".{}", file.package());
        for e in &file.enum_type {
            for v in &e.value {
                out.insert(
                    (format!("{prefix}.{}", e.name()), v.name().to_string()),
                    v.number(),
                );
            }
        }
        walk(&prefix, &file.message_type, &mut out);
    }
    out
}

/// Every RPC: (service, method) → (request, response, client streaming,
/// server streaming).
fn methods(set: &FileDescriptorSet) -> HashMap<(String, String), (String, String, bool, bool)> {
    let mut out = HashMap::new();
    for file in &set.file {
        for s in &file.service {
            for m in &s.method {
                out.insert(
                    (
                        format!("{}.{}", file.package(), s.name()),
                        m.name().to_string(),
                    ),
                    (
                        m.input_type().to_string(),
                        m.output_type().to_string(),
                        m.client_streaming(),
                        m.server_streaming(),
                    ),
                );
            }
        }
    }
    out
}

/// What today's descriptors lost or changed of the frozen ones.
fn incompatibilities(frozen: &FileDescriptorSet, current: &FileDescriptorSet) -> Vec<String> {
    let mut problems = Vec::new();
    let now = messages(current);
    for (name, old) in messages(frozen) {
        let Some(new) = now.get(&name) else {
            problems.push(format!("message {name} is gone"));
            continue;
        };
        for f in &old.field {
            let Some(g) = new.field.iter().find(|g| g.number() == f.number()) else {
                problems.push(format!(
                    "{name}.{} (field {}) is gone",
                    f.name(),
                    f.number()
                ));
                continue;
            };
            let shape = |x: &prost_types::FieldDescriptorProto| {
                (
                    x.name().to_string(),
                    x.r#type(),
                    x.type_name().to_string(),
                    x.label(),
                    x.proto3_optional(),
                )
            };
            if shape(f) != shape(g) {
                problems.push(format!(
                    "{name} field {}: was {:?}, is {:?}",
                    f.number(),
                    shape(f),
                    shape(g)
                ));
            }
        }
    }
    let values = enum_values(current);
    for (key, number) in enum_values(frozen) {
        match values.get(&key) {
            Some(n) if *n == number => {}
            Some(n) => problems.push(format!("enum value {key:?}: was {number}, is {n}")),
            None => problems.push(format!("enum value {key:?} is gone")),
        }
    }
    let rpcs = methods(current);
    for (key, shape) in methods(frozen) {
        match rpcs.get(&key) {
            Some(s) if *s == shape => {}
            Some(s) => problems.push(format!("rpc {key:?}: was {shape:?}, is {s:?}")),
            None => problems.push(format!("rpc {key:?} is gone")),
        }
    }
    problems.sort();
    problems
}

fn current() -> FileDescriptorSet {
    FileDescriptorSet::decode(alluxio_proto::FILE_DESCRIPTOR_SET).expect("today's descriptors")
}

#[test]
fn todays_wire_keeps_every_frozen_message_field_and_rpc() {
    let data = std::fs::read(fixture()).unwrap_or_else(|e| {
        panic!(
            "frozen descriptors {} are missing ({e}); they are written once by \
             `write_descriptors` and never regenerated",
            fixture().display()
        )
    });
    let frozen = FileDescriptorSet::decode(data.as_slice()).expect("frozen descriptors decode");
    assert!(
        messages(&frozen).len() > 50 && methods(&frozen).len() > 20,
        "the frozen descriptors look empty"
    );
    let problems = incompatibilities(&frozen, &current());
    assert!(
        problems.is_empty(),
        "today's protobuf definitions break the frozen wire format:\n{}",
        problems.join("\n")
    );
}

/// The checker itself: a renumbered field, a retyped one, a removed RPC and
/// a changed enum value are each reported.
#[test]
fn the_checker_sees_renumbering_retyping_and_removal() {
    let frozen = current();
    assert!(incompatibilities(&frozen, &frozen).is_empty());
    let mut changed = frozen.clone();
    let file = changed
        .file
        .iter_mut()
        .find(|f| f.name().ends_with("journal.proto"))
        .unwrap();
    let entry = file
        .message_type
        .iter_mut()
        .find(|m| m.name() == "TermStart")
        .unwrap();
    entry.field[0].number = Some(99);
    entry.field[1].r#type = Some(prost_types::field_descriptor_proto::Type::Bytes as i32);
    let master = changed
        .file
        .iter_mut()
        .find(|f| !f.service.is_empty())
        .unwrap();
    let removed = master.service[0].method.remove(0);
    let common = changed
        .file
        .iter_mut()
        .find(|f| f.name().ends_with("common.proto"))
        .unwrap();
    common.enum_type[0].value[1].number = Some(42);
    let problems = incompatibilities(&frozen, &changed);
    let text = problems.join("\n");
    assert!(text.contains("TermStart.term (field 1) is gone"), "{text}");
    assert!(text.contains("TermStart field 2"), "{text}");
    assert!(
        text.contains(&format!("\"{}\") is gone", removed.name())),
        "{text}"
    );
    assert!(text.contains("enum value"), "{text}");
}

/// Writes the frozen descriptors if they do not exist yet.
#[test]
#[ignore = "writes the fixture; run by hand, once"]
fn write_descriptors() {
    let path = fixture();
    if path.exists() {
        eprintln!("kept {}", path.display());
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, alluxio_proto::FILE_DESCRIPTOR_SET).unwrap();
    eprintln!("wrote {}", path.display());
}
