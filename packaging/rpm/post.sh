# alluxio .rpm %post: state and log directories; services are NOT enabled or
# started (format the journal with `sudo -u alluxio alluxio format` first).
install -d -o alluxio -g alluxio -m 0750 /var/lib/alluxio /var/log/alluxio
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
