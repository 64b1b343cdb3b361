/** Service discovery: registration under leases with health, discovery, pickers. */
export { ServiceRegistry, Registration } from './registry.js';
export type { RegisterOptions, HealthCheck } from './registry.js';
export { ServiceDiscovery } from './discovery.js';
export type { ListOptions } from './discovery.js';
export { Picker } from './picker.js';
export type { PickerOptions, PickStrategy } from './picker.js';
export type { ServiceInstance } from './format.js';
export { encodeEntry, decodeEntry } from './format.js';
