/**
 * Imports mod.ts and jose and exits: the `gcp_id_token` plugin's graph
 * without `node:path`, to tell what that one import costs. Run by
 * `bench/peers.ts`.
 *
 * @module
 */
import "../../mod.ts";
import "jose";
