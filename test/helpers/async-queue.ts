/**
 * The tests' message queue and polling helper: the product's own (`core/testing/async-queue.ts`,
 * which the shipped fake masters use), under the name the tests import.
 */
export { eventually, MessageLog } from '../../core/testing/async-queue.js';
