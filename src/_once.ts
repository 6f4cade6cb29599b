/**
 * Loading what an authenticator learns only after construction, such as its
 * client config, once.
 *
 * @module
 */

/**
 * Wraps a loader so that it runs once; after a failure the next call runs
 * it again.
 *
 * @param load The loader.
 * @returns A function that returns the loader's one result.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return function loadOnce(): Promise<T> {
    if (pending) return pending;
    const promise = pending = load();
    promise.catch(() => {
      if (pending === promise) pending = undefined;
    });
    return promise;
  };
}
