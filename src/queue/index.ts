/** Queues with etcd's recipe layout: at-most-once dequeue, or at-least-once with claims. */
export { Queue } from './queue.js';
export { PriorityQueue } from './priority-queue.js';
export { QueueConsumer } from './consumer.js';
export type { ReceiveOptions } from './consumer.js';
export { Delivery } from './delivery.js';
export { DeliveryExpiredError } from './errors.js';
