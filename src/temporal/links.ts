/**
 * A run's page in the Temporal Web UI; before the run exists, the namespace's list filtered on the
 * workflow id (the page the run will appear on).
 */
export function temporalRunUrl(temporalUi: string, namespace: string, workflowId: string, runId: string | null): string {
  const base = `${temporalUi}/namespaces/${encodeURIComponent(namespace)}/workflows`;
  if (runId) return `${base}/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
  return `${base}?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`;
}

export interface TemporalUi {
  /** The Web UI base URL, when links to runs are wanted. */
  url: string | undefined;
  namespace: string;
}
