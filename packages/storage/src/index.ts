export * from './store.js';
export * from './errors.js';
export * from './retention.js';
export { MemoryStore } from './memory.js';
