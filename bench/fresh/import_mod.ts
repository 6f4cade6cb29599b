/**
 * Imports mod.ts alone and exits, to tell its share of the plugin's import
 * time. Run by `bench/peers.ts`.
 *
 * @module
 */
import "../../mod.ts";
