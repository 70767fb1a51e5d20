// GetPrototypeFromConstructor (ECMA-262 "GetPrototypeFromConstructor ( constructor,
// intrinsicDefaultProto )") for the ponyfilled built-ins. A JavaScript class cannot follow it on its
// own: when NewTarget's "prototype" is not an object, the engine gives a class instance
// %Object.prototype%, where a built-in gives its own intrinsic prototype. So the ponyfills choose the
// prototype themselves, reading "prototype" exactly once as the spec does, and build the instance
// from it.

/**
 * The prototype a built-in constructor gives the object it creates: `newTarget.prototype` when that
 * is an object, else `intrinsicDefault`. Reads `newTarget.prototype` once.
 * @internal
 */
export function prototypeFromConstructor(newTarget: object, intrinsicDefault: object): object {
  const prototype: unknown = (newTarget as { prototype?: unknown }).prototype;
  return (typeof prototype === 'object' && prototype !== null) || typeof prototype === 'function' ? prototype : intrinsicDefault;
}

/**
 * A constructor that returns the object it is given. A class that extends it has its private fields
 * installed on that object, so an instance can be given its prototype before it gets its internal
 * slots. It is a derived class that never calls `super()`: the engine then creates no `this` of its
 * own, and so reads nothing from NewTarget.
 * @internal
 */
export const ReturnsInstance = class ReturnsInstance extends (null as unknown as new () => object) {
  // @ts-expect-error TS2377: returning an object instead of calling super() is the point; `null` has no constructor to call
  constructor(instance: object) {
    return instance;
  }
} as new (
  instance: object,
) => object;

/**
 * Makes `constructor.prototype` carry the methods of `methods.prototype` (every own property but
 * `constructor`, with its attributes), and restores its [[Prototype]] to %Object.prototype%, which
 * `class … extends null` leaves null.
 * @internal
 */
export function installMethods(constructor: { readonly prototype: object }, methods: { readonly prototype: object }): void {
  for (const key of Reflect.ownKeys(methods.prototype)) {
    if (key === 'constructor') continue;
    Object.defineProperty(constructor.prototype, key, Reflect.getOwnPropertyDescriptor(methods.prototype, key) as PropertyDescriptor);
  }
  Object.setPrototypeOf(constructor.prototype, Object.prototype);
}
