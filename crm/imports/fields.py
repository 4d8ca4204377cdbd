"""The fields each import entity accepts, their types, defaults and header synonyms.

A file column is mapped to one of these fields (or ignored). Field names are the table's
column names, plus a few import-only fields: ``full_name`` (split into first/last name),
the customer key of orders and transactions, item fields of order lines, and names of
brands/categories/suppliers that are looked up (or created) by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.schema import (
    CUSTOMER_STATUSES,
    CUSTOMER_TYPES,
    GENDERS,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    SEASONS,
    TRANSACTION_STATUSES,
    TRANSACTION_TYPES,
)

__all__ = ["ENTITIES", "IGNORE", "FieldSpec", "fields_for", "normalise_header"]

# The mapping value that means "do not import this column".
IGNORE = "ignore"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # text, email, phone, date, datetime, money, integer, decimal, choice, boolean
    label: str
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    # Value used when the file leaves the field blank (reported as "not provided").
    default: object | None = None
    # Header spellings (English, Chinese, Korean, Japanese), compared after normalise_header().
    synonyms: tuple[str, ...] = ()
    # A field that only means something next to another one (an item's quantity needs its SKU).
    needs: str | None = None
    # Numbers: digits allowed after the decimal mark and the largest value the column can hold
    # (None: the kind's default in crm.imports.validation, e.g. money is Numeric(12, 2)).
    scale: int | None = None
    maximum: float | None = None
    # Dates that cannot lie after today (orders, payments, sign-ups): a later one is rejected.
    not_future: bool = False


def normalise_header(header: str) -> str:
    """Lower-case, without spaces, underscores, dashes, dots or brackets: "E-Mail Address" -> "emailaddress"."""
    return "".join(character for character in header.lower() if character.isalnum())


_NAME = (
    "name",
    "fullname",
    "customername",
    "clientname",
    "contactname",
    "姓名",
    "名字",
    "客戶名稱",
    "客户名称",
    "客戶姓名",
    "客户姓名",
    "이름",
    "성명",
    "고객명",
    "고객이름",
    "氏名",
    "名前",
    "顧客名",
    "お名前",
)
_EMAIL = (
    "email",
    "emailaddress",
    "mail",
    "mailaddress",
    "customeremail",
    "電子郵件",
    "电子邮件",
    "電子信箱",
    "郵箱",
    "邮箱",
    "電郵",
    "이메일",
    "전자우편",
    "이메일주소",
    "メール",
    "メールアドレス",
    "電子メール",
)
_PHONE = (
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
    "cell",
    "cellphone",
    "contact",
    "contactnumber",
    "customerphone",
    "電話",
    "电话",
    "手機",
    "手机",
    "聯絡電話",
    "联系电话",
    "연락처",
    "전화",
    "전화번호",
    "휴대폰",
    "휴대전화",
    "핸드폰",
    "電話番号",
    "携帯",
    "携帯電話",
)
_EXTERNAL_ID = (
    "id",
    "customerid",
    "custid",
    "externalid",
    "customerno",
    "customernumber",
    "clientid",
    "客戶編號",
    "客户编号",
    "會員編號",
    "会员编号",
    "고객번호",
    "고객id",
    "회원번호",
    "顧客id",
    "顧客番号",
    "会員番号",
)
_ORDER_NUMBER = (
    "ordernumber",
    "orderno",
    "orderid",
    "order",
    "ordercode",
    "訂單編號",
    "订单编号",
    "订单号",
    "訂單號",
    "주문번호",
    "注文番号",
)

CUSTOMER_FIELDS = (
    FieldSpec("external_id", "text", "External ID", max_length=80, synonyms=_EXTERNAL_ID),
    FieldSpec("full_name", "text", "Full name (split into first/last)", max_length=240, synonyms=_NAME),
    FieldSpec(
        "first_name",
        "text",
        "First name",
        max_length=120,
        synonyms=("firstname", "givenname", "forename", "first", "名", "下の名前"),
    ),
    FieldSpec(
        "last_name",
        "text",
        "Last name",
        max_length=120,
        synonyms=("lastname", "surname", "familyname", "last", "姓", "성", "姓氏", "苗字"),
    ),
    FieldSpec("email", "email", "Email", max_length=254, synonyms=_EMAIL),
    FieldSpec("phone", "phone", "Phone", max_length=40, synonyms=_PHONE),
    FieldSpec(
        "company",
        "text",
        "Company",
        max_length=160,
        synonyms=(
            "company",
            "companyname",
            "organization",
            "organisation",
            "business",
            "公司",
            "公司名稱",
            "회사",
            "회사명",
            "会社",
            "会社名",
        ),
    ),
    FieldSpec(
        "address",
        "text",
        "Address",
        max_length=250,
        synonyms=("address", "street", "streetaddress", "地址", "住址", "주소", "住所"),
    ),
    FieldSpec(
        "city", "text", "City", max_length=80, synonyms=("city", "town", "城市", "縣市", "도시", "시", "市区町村")
    ),
    FieldSpec("country", "text", "Country", max_length=80, synonyms=("country", "國家", "国家", "국가", "国")),
    FieldSpec(
        "birth_date",
        "date",
        "Birth date",
        synonyms=(
            "birthdate",
            "dateofbirth",
            "dob",
            "birthday",
            "born",
            "生日",
            "出生日期",
            "생년월일",
            "생일",
            "生年月日",
            "誕生日",
        ),
    ),
    FieldSpec("gender", "choice", "Gender", choices=GENDERS, synonyms=("gender", "sex", "性別", "性别", "성별")),
    FieldSpec(
        "source",
        "text",
        "Source",
        max_length=40,
        synonyms=("source", "channel", "leadsource", "來源", "来源", "유입경로", "경로", "流入元"),
    ),
    FieldSpec(
        "customer_type",
        "choice",
        "Customer type",
        choices=CUSTOMER_TYPES,
        default="individual",
        synonyms=("customertype", "type", "客戶類型", "客户类型", "고객유형"),
    ),
    FieldSpec(
        "status",
        "choice",
        "Status",
        choices=CUSTOMER_STATUSES,
        default="active",
        synonyms=("status", "customerstatus", "狀態", "状态", "상태"),
    ),
    FieldSpec("tags", "text", "Tags", max_length=250, synonyms=("tags", "tag", "labels", "標籤", "标签", "태그")),
    FieldSpec(
        "preferred_season",
        "choice",
        "Preferred season",
        choices=SEASONS,
        synonyms=("preferredseason", "season", "季節", "계절"),
    ),
    FieldSpec(
        "notes",
        "text",
        "Notes",
        synonyms=(
            "notes",
            "note",
            "memo",
            "comment",
            "comments",
            "remarks",
            "備註",
            "备注",
            "說明",
            "메모",
            "비고",
            "メモ",
            "備考",
        ),
    ),
    FieldSpec(
        "loyalty_points",
        "integer",
        "Loyalty points",
        default=0,
        synonyms=("loyaltypoints", "points", "積分", "积分", "포인트", "적립금", "ポイント"),
    ),
    FieldSpec(
        "marketing_consent",
        "boolean",
        "Marketing consent",
        default=False,
        synonyms=(
            "marketingconsent",
            "consent",
            "optin",
            "marketingoptin",
            "acceptsmarketing",
            "subscribed",
            "newsletter",
            "行銷同意",
            "营销同意",
            "마케팅동의",
            "マーケティング同意",
        ),
    ),
    FieldSpec(
        "created_at",
        "datetime",
        "Customer since",
        synonyms=(
            "createdat",
            "created",
            "signupdate",
            "signup",
            "registered",
            "registrationdate",
            "joined",
            "customersince",
            "註冊日期",
            "注册日期",
            "가입일",
            "등록일",
            "登録日",
        ),
        not_future=True,
    ),
)

_CUSTOMER_KEY_FIELDS = (
    FieldSpec("customer_external_id", "text", "Customer external ID", max_length=80, synonyms=_EXTERNAL_ID),
    FieldSpec("customer_email", "email", "Customer email", max_length=254, synonyms=_EMAIL),
    FieldSpec("customer_phone", "phone", "Customer phone", max_length=40, synonyms=_PHONE),
    FieldSpec(
        "customer_key",
        "text",
        "Customer key (email, phone or external ID)",
        max_length=254,
        synonyms=("customerkey", "customer", "客戶", "客户", "고객"),
    ),
    FieldSpec("customer_name", "text", "Customer name (for new customers)", max_length=240, synonyms=_NAME),
)

ORDER_FIELDS = (
    FieldSpec("order_number", "text", "Order number", max_length=40, synonyms=_ORDER_NUMBER),
    *_CUSTOMER_KEY_FIELDS,
    FieldSpec(
        "order_date",
        "datetime",
        "Order date",
        required=True,
        synonyms=(
            "orderdate",
            "date",
            "purchasedate",
            "orderedat",
            "createdat",
            "訂單日期",
            "订单日期",
            "下單日期",
            "下单日期",
            "購買日期",
            "주문일",
            "주문일자",
            "주문날짜",
            "注文日",
            "購入日",
        ),
        not_future=True,
    ),
    FieldSpec(
        "status",
        "choice",
        "Status",
        choices=ORDER_STATUSES,
        default="delivered",
        synonyms=("status", "orderstatus", "狀態", "状态", "상태", "주문상태"),
    ),
    FieldSpec("subtotal", "money", "Subtotal", synonyms=("subtotal", "小計", "小计", "소계")),
    FieldSpec("tax", "money", "Tax", default=0, synonyms=("tax", "vat", "稅", "税", "税额", "세금", "부가세")),
    FieldSpec(
        "shipping",
        "money",
        "Shipping",
        default=0,
        synonyms=("shipping", "shippingcost", "freight", "運費", "运费", "배송비", "送料"),
    ),
    FieldSpec("discount", "money", "Discount", default=0, synonyms=("discount", "折扣", "할인", "割引")),
    FieldSpec(
        "total",
        "money",
        "Total",
        synonyms=(
            "total",
            "ordertotal",
            "amount",
            "totalamount",
            "grandtotal",
            "金額",
            "金额",
            "總額",
            "总额",
            "합계",
            "금액",
            "총액",
            "合計",
            "合計金額",
        ),
    ),
    FieldSpec(
        "payment_method",
        "choice",
        "Payment method",
        choices=PAYMENT_METHODS,
        synonyms=("paymentmethod", "payment", "paidby", "付款方式", "支付方式", "결제수단", "결제방법", "支払方法"),
    ),
    FieldSpec("brand", "text", "Brand", max_length=120, synonyms=("brand", "品牌", "브랜드", "ブランド")),
    FieldSpec("notes", "text", "Notes", synonyms=("notes", "note", "memo", "remarks", "備註", "备注", "메모", "비고")),
    FieldSpec(
        "sku",
        "text",
        "Item SKU",
        max_length=60,
        synonyms=("sku", "productcode", "itemcode", "productsku", "商品編號", "商品编号", "상품코드", "品番"),
    ),
    FieldSpec(
        "product_name",
        "text",
        "Item product name (for new products)",
        max_length=200,
        needs="sku",
        synonyms=("product", "productname", "item", "itemname", "商品", "商品名稱", "商品名称", "상품명", "商品名"),
    ),
    FieldSpec(
        "quantity",
        "integer",
        "Item quantity",
        default=1,
        needs="sku",
        synonyms=("quantity", "qty", "units", "數量", "数量", "수량"),
    ),
    FieldSpec(
        "unit_price",
        "money",
        "Item unit price",
        needs="sku",
        synonyms=("unitprice", "price", "itemprice", "單價", "单价", "단가", "単価"),
    ),
)

TRANSACTION_FIELDS = (
    FieldSpec(
        "transaction_number",
        "text",
        "Transaction number",
        max_length=40,
        synonyms=(
            "transactionnumber",
            "transactionid",
            "txnid",
            "transaction",
            "reference",
            "交易編號",
            "交易编号",
            "거래번호",
            "取引番号",
        ),
    ),
    *_CUSTOMER_KEY_FIELDS,
    FieldSpec("order_number", "text", "Order number", max_length=40, synonyms=_ORDER_NUMBER),
    FieldSpec(
        "transaction_type",
        "choice",
        "Type",
        choices=TRANSACTION_TYPES,
        default="sale",
        synonyms=("transactiontype", "type", "類型", "类型", "유형", "거래유형"),
    ),
    FieldSpec(
        "status",
        "choice",
        "Status",
        choices=TRANSACTION_STATUSES,
        default="completed",
        synonyms=("status", "狀態", "状态", "상태"),
    ),
    FieldSpec(
        "method",
        "choice",
        "Method",
        choices=PAYMENT_METHODS,
        default="other",
        synonyms=("method", "paymentmethod", "付款方式", "결제수단"),
    ),
    FieldSpec(
        "amount",
        "money",
        "Amount",
        required=True,
        synonyms=("amount", "value", "total", "金額", "金额", "금액", "金額"),
    ),
    FieldSpec(
        "currency",
        "text",
        "Currency",
        max_length=3,
        default="USD",
        synonyms=("currency", "幣別", "币种", "통화", "通貨"),
    ),
    FieldSpec(
        "gateway_ref",
        "text",
        "Gateway reference",
        max_length=120,
        synonyms=("gatewayref", "gatewayreference", "paymentreference", "authcode"),
    ),
    FieldSpec(
        "processed_at",
        "datetime",
        "Processed at",
        required=True,
        synonyms=("processedat", "date", "transactiondate", "paidat", "交易日期", "거래일", "거래일시", "取引日"),
        not_future=True,
    ),
)

PRODUCT_FIELDS = (
    FieldSpec(
        "sku",
        "text",
        "SKU",
        required=True,
        max_length=60,
        synonyms=("sku", "productcode", "itemcode", "code", "商品編號", "商品编号", "상품코드", "品番"),
    ),
    FieldSpec(
        "name",
        "text",
        "Name",
        max_length=200,
        synonyms=(
            "name",
            "productname",
            "title",
            "product",
            "商品名稱",
            "商品名称",
            "品名",
            "상품명",
            "제품명",
            "商品名",
        ),
    ),
    FieldSpec(
        "description", "text", "Description", synonyms=("description", "details", "描述", "說明", "설명", "説明")
    ),
    FieldSpec(
        "category",
        "text",
        "Category",
        max_length=120,
        synonyms=("category", "categoryname", "類別", "类别", "分類", "分类", "카테고리", "분류", "カテゴリ"),
    ),
    FieldSpec("brand", "text", "Brand", max_length=120, synonyms=("brand", "品牌", "브랜드", "ブランド")),
    FieldSpec(
        "supplier",
        "text",
        "Supplier",
        max_length=160,
        synonyms=("supplier", "vendor", "供應商", "供应商", "공급업체", "仕入先"),
    ),
    FieldSpec(
        "price",
        "money",
        "Price",
        default=0,
        synonyms=("price", "unitprice", "售價", "售价", "價格", "价格", "가격", "판매가", "価格"),
    ),
    FieldSpec("cost", "money", "Cost", default=0, synonyms=("cost", "costprice", "成本", "원가", "原価")),
    # Numeric(10, 3): below 10^7 kg; Numeric(10, 2): below 10^8 cm.
    FieldSpec(
        "weight_kg",
        "decimal",
        "Weight (kg)",
        scale=3,
        maximum=1e7,
        synonyms=("weightkg", "weight", "重量", "무게", "중량"),
    ),
    FieldSpec("length_cm", "decimal", "Length (cm)", scale=2, maximum=1e8, synonyms=("lengthcm", "length")),
    FieldSpec("width_cm", "decimal", "Width (cm)", scale=2, maximum=1e8, synonyms=("widthcm", "width")),
    FieldSpec("height_cm", "decimal", "Height (cm)", scale=2, maximum=1e8, synonyms=("heightcm", "height")),
    FieldSpec(
        "image_url", "text", "Image URL", max_length=500, synonyms=("imageurl", "image", "picture", "圖片", "이미지")
    ),
    FieldSpec(
        "is_active", "boolean", "Active", default=True, synonyms=("isactive", "active", "enabled", "上架", "판매중")
    ),
)

ENTITIES: dict[str, tuple[FieldSpec, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "orders": ORDER_FIELDS,
    "transactions": TRANSACTION_FIELDS,
    "products": PRODUCT_FIELDS,
}


def fields_for(entity: str) -> dict[str, FieldSpec]:
    """The fields of ``entity`` by name; raises ``ValueError`` for an unknown entity."""
    if entity not in ENTITIES:
        raise ValueError(f"Unknown import entity “{entity}” (choose {', '.join(ENTITIES)}).")
    return {spec.name: spec for spec in ENTITIES[entity]}
