import type { Db } from './database.js';

/**
 * A statement for the hot paths (every socket and request), prepared once per database
 * instead of building and preparing its SQL on every call.
 */
export function preparedPerDatabase<T>(prepare: (db: Db) => T): (db: Db) => T {
  const byDb = new WeakMap<Db, T>();
  return (db) => {
    let q = byDb.get(db);
    if (q === undefined) byDb.set(db, (q = prepare(db)));
    return q;
  };
}
