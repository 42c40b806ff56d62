import { afterEach, beforeEach } from "node:test";

/** A fresh, empty store for one test, and how to dispose of it. */
export interface StorageUnderTest<T> {
  storage: T;
  cleanup: () => Promise<void>;
}

/**
 * Gives every test of the enclosing suite a fresh store from `make`, handed to `use`, and
 * disposes of it after the test, also when the test failed.
 */
export function freshStorageEachTest<T>(
  make: () => Promise<StorageUnderTest<T>>,
  use: (storage: T) => void,
): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const made = await make();
    cleanup = made.cleanup;
    use(made.storage);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
}
