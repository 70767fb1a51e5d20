// A plain-promise gate for the bodies in bodies.mjs. Node 20 has no Promise.withResolvers.
export function newGate() {
  let release;
  const promise = new Promise((resolve) => (release = resolve));
  return { promise, release };
}

/** Makes a new churn batch for the shared bodies; returns the function that releases it. */
export function newJsBatch(shared) {
  const { promise, release } = newGate();
  shared.batch = promise;
  return release;
}
