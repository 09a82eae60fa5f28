import type { AccessOverride, DocumentStore } from '../storage/document-store.js';
import type { AccessSubjectKind, DocAccess } from '../storage/documents-schema.js';

/**
 * Per-document access overrides, cached per family: access is checked on every upgrade
 * and on every live re-evaluation, and overrides change rarely (an admin action).
 */
export class OverrideCache {
  private readonly byFamily = new Map<string, Map<string, AccessOverride[]>>();

  constructor(private readonly store: DocumentStore) {}

  forDoc(familyId: string, docName: string): readonly AccessOverride[] {
    let fam = this.byFamily.get(familyId);
    if (!fam) {
      fam = new Map();
      for (const o of this.store.listOverrides(familyId)) {
        const list = fam.get(o.docName);
        if (list) list.push(o);
        else fam.set(o.docName, [o]);
      }
      this.byFamily.set(familyId, fam);
    }
    return fam.get(docName) ?? [];
  }

  list(familyId: string): AccessOverride[] {
    return this.store.listOverrides(familyId);
  }

  set(familyId: string, docName: string, subjectKind: AccessSubjectKind, subject: string, access: DocAccess): void {
    this.store.setOverride(familyId, { docName, subjectKind, subject, access });
    this.byFamily.delete(familyId);
  }

  clear(familyId: string, docName: string, subjectKind: AccessSubjectKind, subject: string): boolean {
    const removed = this.store.clearOverride(familyId, docName, subjectKind, subject);
    this.byFamily.delete(familyId);
    return removed;
  }

  invalidate(familyId: string): void {
    this.byFamily.delete(familyId);
  }
}
