import type { StoreBackend } from './index.mjs';

/** A file for encryptedStore: written whole (temporary file, fsync, rename), mode 0600. */
export function fileBackend(path: string): StoreBackend;
