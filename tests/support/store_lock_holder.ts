/**
 * Takes a FileCredentialStore lock and holds it until killed, answering each
 * line on stdin with "pong" so the test can tell it is alive.
 *
 * Usage: deno run --allow-read=DIR --allow-write=DIR store_lock_holder.ts DIR KEY
 *
 * @module
 */

import { FileCredentialStore } from "../../mod.ts";

const [directory, key] = Deno.args;
if (!directory || !key) {
  throw new TypeError("Usage: store_lock_holder.ts DIR KEY");
}

const encoder = new TextEncoder();
const write = (line: string) => Deno.stdout.write(encoder.encode(line + "\n"));

await new FileCredentialStore({ directory }).lock(key);
await write("locked");
for await (const _chunk of Deno.stdin.readable) await write("pong");
