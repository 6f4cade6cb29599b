/**
 * The registry of auth plugins added in code.
 *
 * @module
 */

import { BUILTIN_AUTH_MODES } from "./builtin_modes.ts";
import type { AuthenticatorPlugin } from "./plugin.ts";

/**
 * Auth plugins by mode name. Names are kept lower-case, so lookups ignore
 * case.
 *
 * @example Registering a plugin on a registry of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuthenticatorRegistry, StaticClientConfigStore } from "@sesame/auth";
 *
 * const registry = new AuthenticatorRegistry();
 * registry.register("Fixed", () => ({
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "t" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
 * }));
 * assert.ok(registry.has("fixed"));
 * assert.ok(registry.names()[0] === "fixed");
 * ```
 */
export class AuthenticatorRegistry {
  readonly #plugins = new Map<string, AuthenticatorPlugin>();

  /**
   * Registers a plugin under a mode name, replacing an earlier one.
   *
   * @param name The mode name; not empty and not built in.
   * @param plugin A factory or a class.
   * @throws {TypeError} When the name is not a non-empty string, is built in,
   * or the plugin is not a function.
   */
  register(name: string, plugin: AuthenticatorPlugin): void {
    const key = normalizeName(name);
    if (BUILTIN_AUTH_MODES.has(key)) {
      throw new TypeError(
        `Cannot register auth plugin "${name}": it is a built-in mode name and would never be reached; choose another name`,
      );
    }
    if (typeof plugin !== "function") {
      throw new TypeError(
        `Cannot register auth plugin "${name}": expected a factory function or a class, got ${
          describe(plugin)
        }`,
      );
    }
    this.#plugins.set(key, plugin);
  }

  /**
   * Removes a plugin.
   *
   * @param name The mode name, in any case.
   * @returns Whether a plugin was registered under it.
   */
  unregister(name: string): boolean {
    return this.#plugins.delete(normalizeName(name));
  }

  /**
   * Finds a plugin.
   *
   * @param name The mode name, in any case.
   * @returns The plugin, or `undefined`.
   */
  get(name: string): AuthenticatorPlugin | undefined {
    return this.#plugins.get(name.toLowerCase());
  }

  /**
   * Tells whether a plugin is registered.
   *
   * @param name The mode name, in any case.
   * @returns Whether one is.
   */
  has(name: string): boolean {
    return this.#plugins.has(name.toLowerCase());
  }

  /**
   * Lists the registered names.
   *
   * @returns The lower-case names, sorted.
   */
  names(): string[] {
    return [...this.#plugins.keys()].sort();
  }
}

/**
 * The process-wide registry that {@linkcode getAuthenticator} reads when no
 * other is given.
 *
 * @example Reading the process-wide registry
 * ```ts
 * import assert from "node:assert/strict";
 * import { registry } from "@sesame/auth";
 *
 * assert.ok(Array.isArray(registry.names()));
 * ```
 */
export const registry: AuthenticatorRegistry = new AuthenticatorRegistry();

/**
 * Registers a plugin on the process-wide {@linkcode registry}.
 *
 * @param name The mode name; not empty and not built in.
 * @param plugin A factory or a class.
 * @throws {TypeError} As {@linkcode AuthenticatorRegistry.register} does.
 *
 * @example Registering a plugin for the whole process
 * ```ts
 * import assert from "node:assert/strict";
 * import { registerAuthenticatorPlugin, registry } from "@sesame/auth";
 *
 * registerAuthenticatorPlugin("example-fixed", () => ({
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "t" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
 * }));
 * assert.ok(registry.has("EXAMPLE-FIXED"));
 * registry.unregister("example-fixed");
 * ```
 */
export function registerAuthenticatorPlugin(
  name: string,
  plugin: AuthenticatorPlugin,
): void {
  registry.register(name, plugin);
}

function normalizeName(name: string): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(
      `Cannot register an auth plugin under ${
        describe(name)
      }: the name must be a non-empty string`,
    );
  }
  return name.toLowerCase();
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `"${value}"`;
  return typeof value;
}
