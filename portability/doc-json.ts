import * as Y from 'yjs';

export type SharedKind = 'map' | 'array' | 'text' | 'xml' | 'empty';

export interface DocJson {
  name: string;
  /** Every top-level shared type: its kind as far as the update shows, and a JSON value for maps, arrays and text. */
  shared: Record<string, { kind: SharedKind; value: unknown }>;
}

/**
 * A readable rendering of one document, for people and other tools. The update (.yjs) is
 * the truth and is what import uses; this is a courtesy. An update does not say which
 * type a top-level name was created as, so it is inferred from the content: keyed
 * entries make a map, strings or formatting make text, XML elements make xml, anything
 * else in a sequence makes an array.
 */
export function renderDocJson(name: string, update: Uint8Array): DocJson {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, update);
    const shared: DocJson['shared'] = {};
    for (const key of [...doc.share.keys()].sort()) {
      const type = doc.share.get(key)!;
      const kind = kindOf(type);
      let value: unknown = null;
      if (kind === 'map') value = doc.getMap(key).toJSON();
      else if (kind === 'array') value = doc.getArray(key).toJSON();
      else if (kind === 'text') value = doc.getText(key).toString();
      shared[key] = { kind, value };
    }
    return { name, shared };
  } finally {
    doc.destroy();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function kindOf(type: Y.AbstractType<any>): SharedKind {
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Array) return 'array';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.XmlFragment) return 'xml';
  let sawItem = false;
  for (let item = type._start; item !== null; item = item.right) {
    sawItem = true;
    const c = item.content;
    if (c instanceof Y.ContentString || c instanceof Y.ContentFormat || c instanceof Y.ContentEmbed) return 'text';
    if (c instanceof Y.ContentType && (c.type instanceof Y.XmlElement || c.type instanceof Y.XmlText)) return 'xml';
  }
  if (sawItem) return 'array';
  return type._map.size > 0 ? 'map' : 'empty';
}
