"""The shop's catalogue models, with the fields and constraints of the original project's ``catalog`` app."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


class Category(models.Model):
    """Three levels: a major category has no parent, a minor one a major parent, an item a minor parent."""

    LEVEL_MAJOR, LEVEL_MINOR, LEVEL_ITEM = "major", "minor", "item"
    LEVEL_CHOICES = [(LEVEL_MAJOR, "大类"), (LEVEL_MINOR, "中类"), (LEVEL_ITEM, "小类")]
    PARENT_LEVEL = {LEVEL_MAJOR: None, LEVEL_MINOR: LEVEL_MAJOR, LEVEL_ITEM: LEVEL_MINOR}

    name = models.CharField(max_length=100)
    order = models.IntegerField(default=0)
    logo = models.CharField(max_length=500, blank=True, default="")
    level = models.CharField(max_length=10, choices=LEVEL_CHOICES, default=LEVEL_MAJOR)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "parent", "name"], name="uniq_category_level_parent_name"),
        ]

    def clean(self) -> None:
        wanted = self.PARENT_LEVEL.get(self.level)
        got = self.parent.level if self.parent_id else None
        if got != wanted:
            raise ValidationError({"parent": f"a {self.level} category needs a {wanted or 'no'} parent, not {got}"})


class Brand(models.Model):
    name = models.CharField(max_length=100, unique=True)
    logo = models.CharField(max_length=500, blank=True, default="")
    description = models.TextField(blank=True, default="")
    order = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


def _money(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class Product(models.Model):
    SOURCE_LOCAL, SOURCE_HAIER = "local", "haier"
    SOURCE_CHOICES = [(SOURCE_LOCAL, "本地"), (SOURCE_HAIER, "海尔")]
    SALES_CHOICES = [("1", "可采"), ("0", "不可采")]

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="products")
    price = _money(validators=[MinValueValidator(0)])
    dealer_price = _money(null=True, blank=True)
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES, default=SOURCE_LOCAL)
    tag = models.CharField(max_length=20, blank=True, default="")
    stock = models.PositiveIntegerField(default=0)
    product_code = models.CharField(max_length=50, unique=True, null=True, blank=True)
    product_model = models.CharField(max_length=100, blank=True, default="")
    product_group = models.CharField(max_length=100, blank=True, default="")
    supply_price = _money(null=True, blank=True)
    invoice_price = _money(null=True, blank=True)
    market_price = _money(null=True, blank=True)
    stock_rebate = _money(null=True, blank=True)
    rebate_money = _money(null=True, blank=True)
    main_images = models.JSONField(default=list, blank=True)
    detail_images = models.JSONField(default=list, blank=True)
    product_page_urls = models.JSONField(default=list, blank=True)
    product_image_url = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    show_in_gift_zone = models.BooleanField(default=False)
    show_in_designer_zone = models.BooleanField(default=False)
    is_sales = models.CharField(max_length=1, choices=SALES_CHOICES, default="1")
    no_sales_reason = models.CharField(max_length=200, blank=True, default="")
    view_count = models.PositiveIntegerField(default=0)
    sales_count = models.PositiveIntegerField(default=0)
    warehouse_code = models.CharField(max_length=50, blank=True, default="")
    warehouse_grade = models.CharField(max_length=1, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_gte_0")]

    def clean(self) -> None:
        if self.category_id and self.category.level not in (Category.LEVEL_MINOR, Category.LEVEL_ITEM):
            raise ValidationError({"category": "products belong to a minor or item category"})


class MediaImage(models.Model):
    file = models.FileField(upload_to="images/%Y/%m/%d/")
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    size = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
