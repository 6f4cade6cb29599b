/**
 * Starts and exits: the process start the other fresh-process variants are
 * measured beyond. Run by `bench/peers.ts`.
 *
 * @module
 */
export {};
