"""The original project's ``integrations`` app: the Haier sync log the shop's admin shows."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HaierSyncLog(models.Model):
    SYNC_TYPE_CHOICES = [("products", "商品"), ("prices", "价格"), ("stock", "库存"), ("order", "订单"),
                         ("logistics", "物流"), ("manual", "手动")]
    STATUS_CHOICES = [("pending", "待处理"), ("processing", "处理中"), ("success", "成功"),
                      ("failed", "失败"), ("partial", "部分成功")]

    sync_type = models.CharField(max_length=20, choices=SYNC_TYPE_CHOICES)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default="pending")
    message = models.TextField(blank=True, default="")
    total_count = models.IntegerField(default=0)
    success_count = models.IntegerField(default=0)
    failed_count = models.IntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
