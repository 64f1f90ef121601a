/**
 * The tests' real ZooKeeper ensemble: the product's own harness (`core/testing/zk-ensemble.ts`,
 * which the failover benchmark uses too), under the name the tests import.
 */
export {
  fourLetter,
  freePort,
  startZkEnsemble,
  type ZkEnsemble,
  type ZkServer,
} from '../../core/testing/zk-ensemble.js';
