/**
 * Imports jose and exits: the floor for a script that signs JWTs. Run by
 * `bench/peers.ts`.
 *
 * @module
 */
import "jose";
