/**
 * Imports sesame's module graph, mod.ts and the `gcp_id_token` plugin, and
 * exits. Run by `bench/peers.ts`.
 *
 * @module
 */
import "../../mod.ts";
import "../../plugins/gcp_id_token.ts";
