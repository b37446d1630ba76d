import {
  chmod as chmodCb,
  mkdir as mkdirCb,
  readFile as readFileCb,
  rename as renameCb,
  rm as rmCb,
  writeFile as writeFileCb,
} from 'node:fs';
import { promisify } from 'node:util';

/**
 * The few file calls the sidecar awaits, as promises over node:fs's callback API. node:fs/promises would load
 * node's FileHandle layer and, on node 22, its readline interface (for FileHandle.readLines): modules the
 * sidecar never uses, kept in every pod's memory.
 */
export const readFile = promisify(readFileCb);
export const writeFile = promisify(writeFileCb);
export const mkdir = promisify(mkdirCb);
export const chmod = promisify(chmodCb);
export const rename = promisify(renameCb);
export const rm = promisify(rmCb);
