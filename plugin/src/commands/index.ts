// The explicit command map oclif loads instead of scanning a directory. Each
// class only declares flags; its run() imports the work, so --help and version
// never load the Kubernetes client.
import DisablePvc from './disable-pvc.ts';
import Doctor from './doctor.ts';
import EnablePvc from './enable-pvc.ts';
import FailoverPvc from './failover-pvc.ts';
import MigratePvc from './migrate-pvc.ts';
import ReversePvc from './reverse-pvc.ts';
import Install from './install.ts';
import Status from './status.ts';
import SyncPvc from './sync-pvc.ts';
import Uninstall from './uninstall.ts';
import Version from './version.ts';

export const commands = {
  'enable:pvc': EnablePvc,
  'disable:pvc': DisablePvc,
  'sync:pvc': SyncPvc,
  'failover:pvc': FailoverPvc,
  'reverse:pvc': ReversePvc,
  'migrate:pvc': MigratePvc,
  status: Status,
  install: Install,
  uninstall: Uninstall,
  doctor: Doctor,
  version: Version,
};
