# alluxio .rpm %pre: the `alluxio` system user and group the servers run as.
getent group alluxio >/dev/null || groupadd -r alluxio
getent passwd alluxio >/dev/null || \
    useradd -r -g alluxio -d /var/lib/alluxio -M -s /sbin/nologin \
        -c "Alluxio servers" alluxio
exit 0
