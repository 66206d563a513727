import { MemoryStore } from './memory.js';
import { runStoreCompliance } from './testing.js';

runStoreCompliance('memory', {
  open: async () => new MemoryStore(),
  cleanup: async () => {},
});
