/**
 * A loopback HTTP server in its own process, for latency figures where the
 * server must not share the client's event loop: it listens on 127.0.0.1,
 * a port the system picks, prints `{"port": N}` on stdout, answers every
 * request with "ok", and exits when its stdin closes.
 *
 * Started by `startLoopbackServer()` in `./loopback.ts`.
 *
 * @module
 */

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response("ok"),
);
await Deno.stdout.write(
  new TextEncoder().encode(`${JSON.stringify({ port: server.addr.port })}\n`),
);
// Read stdin to its end: the parent closing it, or dying, stops the server.
for await (const _ of Deno.stdin.readable) {
  // Nothing is sent; the loop only waits.
}
await server.shutdown();
