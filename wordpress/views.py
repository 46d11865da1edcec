"""The webhook receiver: size limit, proof, raw body stored, 202; processing happens in a job."""

import logging

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.client_ip import client_ip

from .conf import setting
from .models import WordPressSource
from .webhooks import WebhookRejected, accept, schedule_processing, verify_signature, verify_token

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def receive(request, slug, token=None):
    limit = setting("WORDPRESS_WEBHOOK_MAX_BYTES")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        logger.warning("wordpress webhook for %s refused: %s bytes", slug, declared)
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        logger.warning("wordpress webhook for %s refused: body over %s bytes", slug, limit)
        return JsonResponse({"error": "payload too large"}, status=413)
    source = get_object_or_404(WordPressSource, slug=slug, enabled=True)
    try:
        if token is not None:
            verify_token(source, token)
            delivery_id = request.headers.get("X-Intralog-Delivery", "").strip()[:128]
            proof = "token"
        else:
            delivery_id = verify_signature(source, body, request.headers)
            proof = "signature"
    except WebhookRejected as rejection:
        logger.warning("wordpress webhook for %s rejected from %s: %s", slug, client_ip(request), rejection)
        status = 404 if token is not None else 401
        return JsonResponse({"error": "not accepted"}, status=status)
    delivery, replay = accept(source, body, request.content_type or "", delivery_id, proof)
    if replay:
        return JsonResponse({"status": "duplicate", "delivery": delivery.pk}, status=200)
    schedule_processing(delivery)
    return JsonResponse({"status": "accepted", "delivery": delivery.pk}, status=202)
