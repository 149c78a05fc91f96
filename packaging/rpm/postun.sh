# alluxio .rpm %postun: reloads systemd; /var/lib/alluxio (journal, root
# under storage), /var/log/alluxio and the `alluxio` user are kept.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
