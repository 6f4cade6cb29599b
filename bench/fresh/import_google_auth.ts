/**
 * Imports google-auth-library and exits. Run by `bench/peers.ts`.
 *
 * @module
 */
import "npm:google-auth-library@^11.3.4";
