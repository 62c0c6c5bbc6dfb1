// Node-only helpers: a file backend for encryptedStore, written the way the
// Go client writes its store (a temporary file, synced, renamed over the
// old one, mode 0600), so a crash leaves the old state or the new.

import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function fileBackend(path) {
  return {
    async read() {
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        if (e.code === 'ENOENT') return null;
        throw e;
      }
    },
    async write(bytes) {
      const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
      const f = await open(tmp, 'wx', 0o600);
      try {
        await f.writeFile(bytes);
        await f.sync();
      } finally {
        await f.close();
      }
      try {
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
    },
  };
}
