// The offline list of ~49,000 common passwords (@zxcvbn-ts/language-common), kept out of the
// JS heap (issue #32): read on the first check, not at start; packed lowercase and sorted in
// byte order into one Buffer with a Uint32Array of offsets (about 0.6 MB outside V8's heap,
// where a Set of strings held 2.4 MB inside it); looked up by binary search. The package is
// loaded through require and dropped from require's cache at once, so its other lists
// (diceware, keyboard graphs) and the decompressed array are garbage, not kept for good as an
// imported ES module would be.
import { createRequire } from 'node:module';
import path from 'node:path';

interface Packed {
  words: Buffer;
  /** offsets[i] .. offsets[i + 1]: the i-th word. */
  offsets: Uint32Array;
}

let packed: Packed | undefined;

function load(): Packed {
  const require = createRequire(import.meta.url);
  const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
  const unique = [...new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))].map((p) => Buffer.from(p, 'utf8'));
  for (const id of Object.keys(require.cache)) if (id.includes(`${path.sep}@zxcvbn-ts${path.sep}`)) delete require.cache[id];
  unique.sort(Buffer.compare);
  const offsets = new Uint32Array(unique.length + 1);
  unique.forEach((w, i) => (offsets[i + 1] = offsets[i] + w.length));
  return { words: Buffer.concat(unique), offsets };
}

const list = () => (packed ??= load());

/** Whether `lower` (already lowercase) is on the list. */
export function isCommonPassword(lower: string): boolean {
  const { words, offsets } = list();
  const wanted = Buffer.from(lower, 'utf8');
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const order = words.compare(wanted, 0, wanted.length, offsets[mid], offsets[mid + 1]);
    if (order === 0) return true;
    if (order < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** How many passwords the list holds (docs/accounts.md states it). */
export const commonPasswordCount = (): number => list().offsets.length - 1;
