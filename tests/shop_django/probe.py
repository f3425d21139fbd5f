"""What the test Django shop's own ORM sees, as JSON on stdout; and shop-side edits made through the ORM.

Run as ``python probe.py <command> [json]`` with ``SHOP_DB_URL`` and ``SHOP_MEDIA_ROOT`` set (see
``tests/support/shop.py``). Commands: ``dump``, ``edit`` ({code: {field: value}}), ``add_local``
({code, name, price, category, brand}), ``round_trip`` ({field: decimal text}: saved on a fresh
product through the ORM and read back, the reference for what Django stores).
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_settings")

import django

django.setup()

from catalog.models import Brand, Category, MediaImage, Product  # noqa: E402 - after django.setup()
from django.core.exceptions import ValidationError  # noqa: E402
from integrations.models import HaierSyncLog  # noqa: E402


def _errors(instance) -> str:
    try:
        instance.full_clean()
    except ValidationError as exc:
        return str(exc.message_dict)
    return ""


def dump() -> dict:
    products = {}
    for product in Product.objects.select_related("category", "brand"):
        products[product.product_code or f"id:{product.id}"] = {
            "name": product.name, "description": product.description, "source": product.source,
            "price": str(product.price), "supply_price": _text(product.supply_price),
            "invoice_price": _text(product.invoice_price), "market_price": _text(product.market_price),
            "stock_rebate": _text(product.stock_rebate), "rebate_money": _text(product.rebate_money),
            "stock": product.stock, "warehouse_code": product.warehouse_code,
            "warehouse_grade": product.warehouse_grade, "is_sales": product.is_sales, "is_active": product.is_active,
            "category": product.category.name, "category_level": product.category.level,
            "brand": product.brand.name, "main_images": product.main_images, "detail_images": product.detail_images,
            "product_page_urls": product.product_page_urls, "last_sync_at": _text(product.last_sync_at),
            "updated_at": product.updated_at.isoformat(), "errors": _errors(product),
        }
    return {
        "products": products,
        "brands": {brand.name: _errors(brand) for brand in Brand.objects.all()},
        "categories": [{"name": c.name, "level": c.level, "parent": c.parent.name if c.parent_id else None,
                        "errors": _errors(c)} for c in Category.objects.select_related("parent")],
        "media": [{"file": m.file.name, "exists": os.path.isfile(m.file.path), "size": m.size,
                   "disk_size": os.path.getsize(m.file.path) if os.path.isfile(m.file.path) else None,
                   "content_type": m.content_type, "errors": _errors(m)} for m in MediaImage.objects.all()],
        "sync_logs": [{"sync_type": log.sync_type, "status": log.status, "message": log.message,
                       "total": log.total_count, "success": log.success_count, "failed": log.failed_count,
                       "completed": log.completed_at is not None, "errors": _errors(log)}
                      for log in HaierSyncLog.objects.order_by("id")],
    }


def _text(value) -> str | None:
    return None if value is None else (value.isoformat() if hasattr(value, "isoformat") else str(value))


def edit(changes: dict) -> dict:
    for code, fields in changes.items():
        product = Product.objects.get(product_code=code)
        for name, value in fields.items():
            setattr(product, name, Decimal(value) if name.endswith("price") else value)
        product.save()
    return {"edited": len(changes)}


def add_local(spec: dict) -> dict:
    major, _ = Category.objects.get_or_create(name="本店", level="major", parent=None)
    minor, _ = Category.objects.get_or_create(name=spec["category"], level="minor", parent=major)
    brand, _ = Brand.objects.get_or_create(name=spec["brand"])
    product = Product.objects.create(name=spec["name"], category=minor, brand=brand, price=Decimal(spec["price"]),
                                     source="local", product_code=spec["code"], description="本店自营")
    product.full_clean()
    return {"id": product.id}


def round_trip(values: dict) -> dict:
    major = Category.objects.create(name="往返", level="major")
    minor = Category.objects.create(name="往返", level="minor", parent=major)
    brand = Brand.objects.create(name="往返")
    product = Product.objects.create(name="往返", category=minor, brand=brand, price=Decimal(0),
                                     **{name: Decimal(text) for name, text in values.items()})
    stored = Product.objects.get(pk=product.pk)
    result = {name: str(getattr(stored, name)) for name in values}
    product.delete()
    brand.delete()
    minor.delete()
    major.delete()
    return result


COMMANDS = {"dump": dump, "edit": edit, "add_local": add_local, "round_trip": round_trip}

if __name__ == "__main__":
    command = COMMANDS[sys.argv[1]]
    argument = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(command(argument) if argument is not None else command(), ensure_ascii=False))
