# alluxio-env.sh: environment settings for every Alluxio process on this
# machine (master, worker, alluxio-fuse and the `alluxio` command), read
# from the directory of alluxio-site.properties.
#
# Installed by the alluxio package as a configuration file: your edits are
# kept across upgrades. It is read WITHOUT running a shell: only plain
# assignments count (VAR=value, export VAR=value, VAR+=value, quotes, and
# $VAR / ${VAR:-default} expansion); commands are skipped. Values here lose
# to the same variables in the process environment and to -Dkey=value on a
# command line, and win over alluxio-site.properties.
#
# Properties for every process, as -Dkey=value items:
#ALLUXIO_JAVA_OPTS="-Dalluxio.user.block.size.bytes.default=64MB"
# ... and for one kind of process only:
#ALLUXIO_MASTER_JAVA_OPTS="-Dalluxio.master.worker.timeout=2min"
#ALLUXIO_WORKER_JAVA_OPTS="-Dalluxio.worker.tieredstore.level0.dirs.quota=4GB"
#ALLUXIO_USER_JAVA_OPTS=""
#ALLUXIO_FUSE_JAVA_OPTS=""
#
# Shortcuts for single properties, as in Alluxio's scripts (each sets the
# property named above it):
# alluxio.master.hostname
#ALLUXIO_MASTER_HOSTNAME=localhost
# alluxio.worker.hostname
#ALLUXIO_WORKER_HOSTNAME=localhost
# alluxio.master.mount.table.root.ufs
#ALLUXIO_MASTER_MOUNT_TABLE_ROOT_UFS=/var/lib/alluxio/underFSStorage
# alluxio.worker.tieredstore.level0.dirs.path
#ALLUXIO_RAM_FOLDER=/dev/shm
# alluxio.worker.ramdisk.size (the memory tier's default quota)
#ALLUXIO_WORKER_RAMDISK_SIZE=1GB
# alluxio.logs.dir
#ALLUXIO_LOGS_DIR=/var/log/alluxio
#
# The log level is RUST_LOG (e.g. info, debug, alluxio_master=debug) from
# the process environment, not from this file; for a service set it with
# `systemctl edit alluxio-master`: [Service] Environment=RUST_LOG=debug
