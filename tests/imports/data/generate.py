"""Writes the messy sample files of this folder (run once; the files are committed).

Each file is what a real export of that kind looks like: Excel's "Unicode text" (UTF-16,
tabs), a Taiwanese Big5 sheet, a Japanese Shift-JIS list, a German CP1252 list with a title
line and semicolons, a UTF-8 file with a BOM and every kind of problem row.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

FILES = {
    # Rows (file lines): 2 Ada, 3 Grace, 4 Ada again (email in other case/spaces), 5 invalid email,
    # 6 Linus with Grace's phone written differently, 7 blank, 8 nothing to identify a customer,
    # 9 birthday in the future. A formula-looking note on row 2.
    "utf8_bom_customers.csv": (
        "utf-8-sig",
        "First Name,Last Name,E-mail,Phone,Birthday,Gender,Notes\n"
        'Ada,Lovelace,ada@example.com,+44 20 7946 0001,1915-12-10,F,=HYPERLINK("http://x")\n'
        "Grace,Hopper,grace@example.com,(212) 555-0199,1906-12-09,female,\n"
        " ADA ,Lovelace, ADA@Example.com ,,,,second row for Ada\n"
        "Alan,Turing,alan@@example,020 7946 0002,1912-06-23,M,\n"
        "Linus,Torvalds,linus@example.com,212-555-0199,1969-12-28,m,\n"
        "\n"
        ",,,,,,only a note\n"
        "Margaret,Hamilton,margaret@example.com,,2999-01-01,x,\n",
    ),
    "utf16_customers.csv": (
        "utf-16",
        "Name\tEmail\tCity\nZoë Quill\tzoe@example.com\tKraków\nØrjan Ås\torjan@example.com\tTromsø\n",
    ),
    "big5_customers.csv": (
        "big5",
        "姓名,電子郵件,電話,生日,性別,備註\n"
        "王小明,ming@example.tw,0912-345-678,1990年5月10日,男,老客戶\n"
        "陳美麗,mei@example.tw,0922-333-444,1985/05/05,女,\n"
        "林志強,,0933-111-222,,男,新客戶\n",
    ),
    "shift_jis_customers.csv": (
        "shift_jis",
        "氏名,メールアドレス,電話番号,生年月日,性別,メモ\n"
        "山田太郎,taro@example.jp,090-1234-5678,1980/02/03,男性,常連\n"
        "佐藤花子,hanako@example.jp,080-2222-3333,1992/07/08,女性,\n",
    ),
    # Title line above the header, semicolons, decimal commas as in German Excel.
    "cp1252_semicolon_customers.csv": (
        "cp1252",
        "Kundenliste März 2025;;;\n"
        "Name;Email;City;Points\n"
        "José Müller;jose@example.de;Zürich;1.250\n"
        "Françoise Dupré;francoise@example.fr;Besançon;80\n"
        "Søren Kierkegaard;soren@example.dk;København;0\n",
    ),
    # One row per item: order O-1 has two items, O-2 one; customers by email, one new SKU.
    "orders_items.csv": (
        "utf-8",
        "Order No,Customer Email,Order Date,SKU,Product,Qty,Unit Price,Status,Shipping\n"
        "O-1,ann@example.com,2025-01-10 12:00,TS,T-shirt,2,20.00,delivered,5\n"
        "O-1,ann@example.com,2025-01-10 12:00,MUG,Mug,1,10.00,delivered,5\n"
        "O-2,bob@example.com,2025-02-01,MUG,Mug,3,10.00,shipped,0\n"
        "O-3,bob@example.com,2025-02-03,MUG,Mug,0,10.00,shipped,0\n",
    ),
    # Excel on Japanese Windows: cp932 characters Shift-JIS lacks (㈱, ①, 髙 in 髙橋).
    "cp932_customers.csv": (
        "cp932",
        "氏名,会社,メールアドレス,メモ\n髙橋一郎,㈱山田商事,ichiro@example.jp,①常連\n山田太郎,㈲佐藤,taro@example.jp,②新規\n",
    ),
    # Excel on Taiwanese Windows: cp950 characters Big5 lacks (碁, 裏, €).
    "cp950_customers.csv": (
        "cp950",
        "姓名,電子郵件,地址,備註\n王小明,ming@example.tw,台北市信義區,碁友會員 €5\n陳美麗,mei@example.tw,高雄市,裏長\n",
    ),
    # Mainland China: GB18030 (simplified characters), a small file.
    "gb18030_customers.csv": (
        "gb18030",
        "姓名,电子邮件,地址,备注\n王小明,ming@example.cn,北京市朝阳区,老客户\n"
        "李娜,na@example.cn,上海市浦东新区,新客户\n张伟,wei@example.cn,广州市天河区,\n",
    ),
    # 성 (family name) and 이름 (given name) in separate columns, as Korean shop exports have them.
    "ko_split_customers.csv": (
        "utf-8",
        "성,이름,이메일,연락처\n김,민준,minjun@example.kr,010-1234-0000\n이,서연,seoyeon@example.kr,010-1234-0001\n"
        "남궁,민수,minsu@example.kr,010-1234-0002\n",
    ),
    # Lines 3 and 5 have more fields than the header (an unquoted comma in the note); line 4's
    # email is invalid; a quoted note spans lines 7-8, so Fay's row starts on line 9.
    "ragged_customers.csv": (
        "utf-8",
        "Name,Email,Notes\n"
        "Ada A,ada@example.com,a\n"
        "Bob B,bob@example.com,likes tea, milk\n"
        "Cat C,cat@x,ok\n"
        "Dan D,dan@example.com,d,X,Y\n"
        "Eve E,eve@example.com,\n"
        'Gus G,gus@example.com,"line one\nline two"\n'
        "Fay F,fay@example.com,last\n",
    ),
}


def main() -> None:
    for name, (encoding, text) in FILES.items():
        (HERE / name).write_bytes(text.encode(encoding))


if __name__ == "__main__":
    main()
