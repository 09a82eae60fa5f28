import { runLive } from './admin-client.js';

/**
 * Rebuilds one family's search rows in batches through runLive (`search.reindex`): on the
 * running server over its admin socket, straight on the database otherwise. Batches keep
 * each admin-socket request short (the server keeps serving between them) and let a
 * progress bar move. Resolves with the number of documents indexed.
 */
export async function reindexFamily(flags: Record<string, unknown>, familyId: string, onBatch: (indexed: number) => void = () => {}): Promise<number> {
  let after: string | undefined;
  let documents = 0;
  for (;;) {
    const batch = (await runLive(flags, 'search.reindex', after === undefined ? { familyId } : { familyId, after })).result as { indexed: number; next: string | null };
    documents += batch.indexed;
    onBatch(batch.indexed);
    if (batch.next === null) return documents;
    after = batch.next;
  }
}
