# alluxio .rpm %preun: on erase ($1 = 0, not an upgrade), stops the services
# and FUSE mounts this package runs.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl stop 'alluxio-fuse@*.service' alluxio-worker.service \
        alluxio-master.service >/dev/null 2>&1 || :
fi
exit 0
