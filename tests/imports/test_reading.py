"""Reading CSV in many encodings and messy workbooks; detection and its overrides."""

from __future__ import annotations

import pytest

from crm.imports import SUPPORTED_ENCODINGS, read_source
from crm.imports.reading import detect_delimiter, detect_encoding, detect_header_row, guess_encoding
from tests.imports.conftest import DATA, KOREAN_CUSTOMERS


@pytest.mark.parametrize(
    ("file_name", "encoding", "delimiter", "header_row", "first_cell"),
    [
        ("utf8_bom_customers.csv", "utf-8-sig", ",", 1, "Ada"),
        ("utf16_customers.csv", "utf-16", "\t", 1, "Zoë Quill"),
        ("big5_customers.csv", "cp950", ",", 1, "王小明"),
        ("shift_jis_customers.csv", "cp932", ",", 1, "山田太郎"),
        ("cp1252_semicolon_customers.csv", "cp1252", ";", 2, "José Müller"),
        ("orders_items.csv", "utf-8", ",", 1, "O-1"),
        ("cp932_customers.csv", "cp932", ",", 1, "髙橋一郎"),
        ("cp950_customers.csv", "cp950", ",", 1, "王小明"),
    ],
)
def test_csv_encoding_delimiter_and_header_are_detected(file_name, encoding, delimiter, header_row, first_cell):
    parsed = read_source(DATA / file_name)
    assert (parsed.encoding, parsed.delimiter, parsed.header_row) == (encoding, delimiter, header_row)
    assert parsed.frame.iloc[0, 0] == first_cell
    assert parsed.warnings == []


def test_the_korean_cp949_sample_reads_with_its_korean_headers():
    parsed = read_source(KOREAN_CUSTOMERS)
    assert parsed.encoding == "cp949"
    assert parsed.columns == ["이름", "연락처", "생년월일", "성별", "메모"]
    assert len(parsed.frame) == 30
    assert parsed.frame.iloc[1].tolist() == ["이서연", "010-9911-5264", "1975-01-06", "F", "단골"]


def test_blank_lines_are_not_rows_but_row_numbers_stay_the_file_lines():
    parsed = read_source(DATA / "utf8_bom_customers.csv")
    # 8 lines after the header, one of them blank (line 7).
    assert len(parsed.frame) == 7
    assert parsed.row_numbers.tolist() == [2, 3, 4, 5, 6, 8, 9]


def test_a_wrong_encoding_override_is_reported_not_silently_garbled():
    parsed = read_source(DATA / "big5_customers.csv", encoding="utf-8")
    assert parsed.encoding == "utf-8"
    assert any("not valid utf-8" in warning for warning in parsed.warnings)


def test_header_row_and_delimiter_can_be_overridden():
    parsed = read_source(DATA / "cp1252_semicolon_customers.csv", header_row=2, delimiter=";", encoding="cp1252")
    assert parsed.columns == ["Name", "Email", "City", "Points"]
    assert parsed.row_numbers.tolist() == [3, 4, 5]


def test_encoding_detection_prefers_boms_then_utf8():
    assert detect_encoding("a,b\n".encode("utf-16")) == "utf-16"
    assert detect_encoding(b"\xef\xbb\xbfa,b\n") == "utf-8-sig"
    assert detect_encoding("이름,메모\n".encode()) == "utf-8"
    assert detect_encoding("이름,연락처\n김민준,010\n이서연,010\n".encode("cp949")) == "cp949"


def test_windows_code_pages_are_used_instead_of_the_standards_they_extend():
    # ㈱ and ① exist in cp932 only, € and 碁 in cp950 only: the narrower codecs cannot read them.
    cp932 = (DATA / "cp932_customers.csv").read_bytes()
    cp950 = (DATA / "cp950_customers.csv").read_bytes()
    for data, narrower in ((cp932, "shift_jis"), (cp950, "big5")):
        with pytest.raises(UnicodeDecodeError):
            data.decode(narrower)
    assert read_source(cp932).frame["会社"].tolist() == ["㈱山田商事", "㈲佐藤"]
    assert read_source(cp950).frame["備註"].tolist() == ["碁友會員 €5", "裏長"]
    assert {"cp932", "cp950", "gb18030"} <= set(SUPPORTED_ENCODINGS)
    assert not {"shift_jis", "big5"} & set(SUPPORTED_ENCODINGS)


def test_a_guess_from_little_text_that_another_encoding_reads_differently_comes_with_a_warning():
    parsed = read_source(DATA / "gb18030_customers.csv")
    assert parsed.encoding == "gb18030"
    assert parsed.frame["地址"].tolist() == ["北京市朝阳区", "上海市浦东新区", "广州市天河区"]
    (warning,) = parsed.warnings
    assert warning.startswith("The encoding gb18030 is a guess from little text; euc_jp would read it differently.")
    encoding, doubt = guess_encoding((DATA / "cp932_customers.csv").read_bytes())
    assert (encoding, doubt) == ("cp932", None)


def test_a_line_wider_than_the_header_is_kept_as_a_ragged_row_with_its_own_line_number():
    parsed = read_source(DATA / "ragged_customers.csv")
    assert parsed.ragged == {3: "4 fields, the header has 3", 5: "5 fields, the header has 3"}
    assert parsed.row_numbers.tolist() == [2, 3, 4, 5, 6, 7, 9]
    assert parsed.frame["Name"].tolist() == ["Ada A", "Bob B", "Cat C", "Dan D", "Eve E", "Gus G", "Fay F"]


def test_a_quoted_field_spanning_lines_keeps_the_following_rows_on_their_file_lines():
    parsed = read_source(b'Name,Notes\nAda,"one\ntwo\nthree"\nBob,x\n\nCat,y\n')
    assert parsed.row_numbers.tolist() == [2, 5, 7]
    assert parsed.frame["Notes"].tolist() == ["one\ntwo\nthree", "x", "y"]


def test_trailing_empty_fields_and_short_lines_are_not_ragged():
    parsed = read_source(b"a,b,c\n1,2,3,\n4,5\n")
    assert parsed.ragged == {}
    assert parsed.frame.values.tolist() == [["1", "2", "3"], ["4", "5", ""]]


def test_delimiter_detection_ignores_commas_inside_a_semicolon_file():
    assert detect_delimiter("name;note\nAda;hello, world\nAlan;x\n") == ";"
    assert detect_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"


def test_header_detection_skips_titles_and_numbers():
    rows = [["Report March"], [], ["Name", "Email", "Total"], ["Ada", "a@x.com", "12"]]
    assert detect_header_row(rows) == 2
    assert detect_header_row([["2024", "2025"], ["Name", "Total"], ["Ada", "1"]]) == 1
    assert detect_header_row([["Name", "2024", "2025"], ["Ada", "1", "2"]]) == 0
    assert detect_header_row([["1", "19970101"], ["2", "19970102"]]) == -1


def test_workbook_header_below_a_merged_title_is_found_on_the_biggest_sheet(messy_workbook):
    parsed = read_source(messy_workbook, file_name="customers.xlsx")
    assert parsed.file_format == "xlsx"
    assert parsed.sheet == "Customers"
    assert parsed.sheets == ["Read me", "Customers", "Orders"]
    assert parsed.header_row == 3
    assert parsed.columns == ["Customer ID", "Name", "Email", "City", "Orders", "Points", "Spend"]
    assert parsed.row_numbers.tolist() == [4, 5, 6, 7]


def test_workbook_merged_cells_fill_every_cell_they_cover(messy_workbook):
    parsed = read_source(messy_workbook)
    # D4:D5 is one merged "Seoul": both customers live there.
    assert parsed.frame["City"].tolist() == ["Seoul", "Seoul", "Taipei", "Tokyo"]


def test_workbook_formulas_read_their_saved_results_and_missing_ones_are_flagged(messy_workbook):
    parsed = read_source(messy_workbook)
    assert parsed.frame["Points"].tolist() == ["30", "10", "0", "50"]
    assert parsed.frame["Spend"].tolist() == ["37.5", "12.5", "0", ""]
    assert len(parsed.warnings) == 1
    assert "G7" in parsed.warnings[0]


def test_the_sheet_whose_header_names_the_entitys_fields_is_chosen(messy_workbook):
    # Both data sheets name order fields; the Orders sheet names nothing else.
    assert read_source(messy_workbook, entity="orders").sheet == "Orders"
    assert read_source(messy_workbook, entity="customers").sheet == "Customers"


def test_another_sheet_can_be_chosen_and_an_unknown_one_is_refused(messy_workbook):
    parsed = read_source(messy_workbook, sheet="Orders")
    assert parsed.header_row == 1
    assert parsed.frame["Order No"].tolist() == ["X-1", "X-2"]
    with pytest.raises(ValueError, match="no sheet “Nope”"):
        read_source(messy_workbook, sheet="Nope")


@pytest.mark.parametrize(
    ("data", "file_name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "not a readable Excel"),
    ],
)
def test_unreadable_files_say_why(data, file_name, message):
    with pytest.raises(ValueError, match=message):
        read_source(data, file_name=file_name)


def test_a_header_without_rows_reads_as_an_empty_table():
    parsed = read_source(b"Name,Email\n", file_name="header_only.csv")
    assert (parsed.columns, len(parsed.frame)) == (["Name", "Email"], 0)


def test_aligned_columns_without_a_header_read_as_numbered_columns():
    # The layout of CDNOW_master.txt: id, customer id, date, CDs, amount, aligned with spaces.
    data = b"    1      1 19970101  1  11.77\n    2      2 19970112  1  12.00\n    3      2 19970112  5  77.00\n"
    parsed = read_source(data, file_name="CDNOW_master.txt")
    assert (parsed.delimiter, parsed.header_row) == (" ", 0)
    assert parsed.describe() == "CSV in utf-8, space-delimited, no header line, 3 data rows"
    assert parsed.columns == ["column 1", "column 2", "column 3", "column 4", "column 5"]
    assert parsed.frame.iloc[2].tolist() == ["3", "2", "19970112", "5", "77.00"]
    assert parsed.row_numbers.tolist() == [1, 2, 3]


def test_header_row_zero_reads_the_first_line_as_data(messy_workbook):
    parsed = read_source(b"a,b\n1,2\n", header_row=0)
    assert (parsed.columns, parsed.frame.values.tolist()) == (["column 1", "column 2"], [["a", "b"], ["1", "2"]])
    orders = read_source(messy_workbook, sheet="Orders", header_row=0)
    assert orders.frame.iloc[0].tolist() == ["Order No", "Customer ID", "Date", "Total"]
    assert orders.row_numbers.tolist() == [1, 2, 3]
