/**
 * Imports `node:path` alone and exits: the `gcp_id_token` plugin imports
 * it, and the first `node:` import starts Deno's Node compatibility layer.
 * Run by `bench/peers.ts`.
 *
 * @module
 */
import "node:path";
