export { FsStore, type FsRecoveryReport, type FsStoreOptions } from './fs-store.js';
export { FORMAT_VERSION } from './format.js';
