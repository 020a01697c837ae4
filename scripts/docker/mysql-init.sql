-- The docker-compose lab's source: the synchronizer's user with only what it needs (the
-- server's default authentication; the grants of docs/sources.md: the binlog, its status,
-- SELECT, and BACKUP_ADMIN for the initial sync's lock-free consistent position), and the
-- sample table of config.yaml (the same as scripts/demo creates in the no-Docker lab).
CREATE USER 'dts_sync'@'%' IDENTIFIED BY 'dts_sync_pw';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'dts_sync'@'%';
GRANT BACKUP_ADMIN ON *.* TO 'dts_sync'@'%';
CREATE TABLE IF NOT EXISTS demo.orders (
  id BIGINT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
  customer VARCHAR(64) NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  note VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
);
