import { useReadiness } from '@sandboxd/react';

/**
 * Says what breaks silently: with the E2B provider, drift the reconciler had to repair and no
 * signed webhook since means deliveries are not arriving (a wrong URL or secret, a deleted
 * registration). Read from /readyz's detail every minute.
 */
export function DeliveryBanner() {
  const readiness = useReadiness();
  const webhooks = readiness.data?.checks?.webhooks;
  if (!webhooks || webhooks.status !== 'silent') return null;
  const since = webhooks.lastVerifiedAt
    ? `since the last signed webhook (${new Date(webhooks.lastVerifiedAt).toLocaleString()})`
    : 'and no signed webhook has arrived yet';
  return (
    <p className="error delivery-banner" role="alert" data-testid="delivery-banner">
      Webhook deliveries look silent: the reconciler repaired {webhooks.driftSinceLastWebhook}{' '}
      {webhooks.driftSinceLastWebhook === 1 ? 'change' : 'changes'} {since}. Check the E2B webhook
      registration and secret (docs/operations.md).
    </p>
  );
}
