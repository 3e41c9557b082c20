"""Rest days for any year. Where the chinese-calendar package knows the year (the State Council's
published arrangement) its answer is used; for any other year the holidays are laid out
provisionally, the way the State Council has arranged them under the 2024 revision of
《全国年节及纪念日放假办法》 (checked against its 2025 and 2026 arrangements, see
tests/filing_calendar/test_holidays.py):

- 元旦, 清明 (at the solar term), 端午 (lunar 5-5) and 中秋 (lunar 8-15): one day joined to the
  weekend into three days off (Tuesday: Sunday to Tuesday, the Saturday before worked; Thursday:
  Thursday to Saturday, the Sunday after worked; Wednesday: the day alone);
- 春节: eight days from the lunar New Year's eve (four of them statutory), starting on the Sunday
  before when the eve is a Monday (as in 2026);
- 劳动节: May 1–5 (two statutory days); 国庆: October 1–7 (three), to the 8th when 中秋 falls in it;
- each long break's weekdays beyond its statutory days (a statutory day on a weekend earns a
  weekday) are made up on the nearest weekend days outside it, one side then the other.

Every answer about a year the package does not know is provisional (预估): the State Council
publishes the next year's arrangement late in the year before. Never raises for 1900–2199."""

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from chinese_calendar import Holiday
from lunardate import LunarDate

DAY = dt.timedelta(days=1)
LUNAR_YEARS = range(1900, 2100)  # what lunardate converts
METONIC_YEARS = 19  # 235 lunations ≈ 19 solar years: lunar dates recur within a day or two


@dataclass(frozen=True)
class DayInfo:
    rest: bool
    holiday: Holiday | None  # the holiday whose break the day is in, or None
    makeup_workday: bool  # 调休上班: a weekend day worked
    provisional: bool  # from the provisional layout, not the State Council's published one


def knows_year(year: int) -> bool:
    """Whether chinese-calendar carries the State Council's arrangement for `year`."""
    return _package_knows(year)


@lru_cache(maxsize=512)
def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_rest_day(day: dt.date) -> tuple[bool, bool]:
    """(whether `day` is a rest day — weekend or holiday, less make-up workdays; whether that
    answer is provisional)."""
    info = day_info(day)
    return info.rest, info.provisional


def day_info(day: dt.date) -> DayInfo:
    if _package_knows(day.year):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        rest = not chinese_calendar.is_workday(day)
        holiday = Holiday(name) if on_holiday and name else None
        return DayInfo(rest, holiday, day.weekday() >= 5 and not rest, False)
    layout = _layout(day.year)
    if day.month == 12:  # next year's 元旦 break may begin (or be made up) in late December
        layout = _merge(layout, _layout(day.year + 1))
    holidays, makeups = layout
    if day in holidays:
        return DayInfo(True, holidays[day], False, True)
    if day in makeups:
        return DayInfo(False, None, True, True)
    return DayInfo(day.weekday() >= 5, None, False, True)


Layout = tuple[dict[dt.date, Holiday], frozenset[dt.date]]


def _merge(a: Layout, b: Layout) -> Layout:
    return {**a[0], **b[0]}, a[1] | b[1]


@lru_cache(maxsize=256)
def _layout(year: int) -> Layout:
    """The provisional holidays of `year` (every day of each break, by holiday) and its make-up
    workdays."""
    holidays: dict[dt.date, Holiday] = {}
    makeups: set[dt.date] = set()
    for holiday, day in (
        (Holiday.new_years_day, dt.date(year, 1, 1)),
        (Holiday.tomb_sweeping_day, qingming(year)),
        (Holiday.dragon_boat_festival, lunar_to_solar(year, 5, 5)),
    ):
        _short_break(holiday, day, holidays, makeups)
    mid_autumn = lunar_to_solar(year, 8, 15)
    national = _days(dt.date(year, 10, 1), dt.date(year, 10, 7))
    statutory = national[:3]
    if dt.date(year, 9, 30) <= mid_autumn <= dt.date(year, 10, 8):
        # 中秋 joins 国庆: one more statutory day, eight days off (2017, 2020, 2025; 2012 from 9-30)
        start = min(national[0], mid_autumn)
        national, statutory = _days(start, start + 7 * DAY), [*statutory, mid_autumn]
    else:
        _short_break(Holiday.mid_autumn_festival, mid_autumn, holidays, makeups)
    eve = lunar_to_solar(year, 1, 1) - DAY
    spring_start = eve - DAY if eve.weekday() == 0 else eve  # the Sunday before a Monday eve (2026)
    _long_break(
        Holiday.spring_festival,
        _days(spring_start, eve + 7 * DAY),
        _days(eve, eve + 3 * DAY),
        holidays,
        makeups,
    )
    _long_break(
        Holiday.labour_day,
        _days(dt.date(year, 5, 1), dt.date(year, 5, 5)),
        _days(dt.date(year, 5, 1), dt.date(year, 5, 2)),
        holidays,
        makeups,
    )
    _long_break(Holiday.national_day, national, statutory, holidays, makeups)
    return holidays, frozenset(makeups)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * DAY for i in range((last - first).days + 1)]


def _short_break(holiday: Holiday, day: dt.date, holidays: dict, makeups: set) -> None:
    weekday = day.weekday()
    first, last, made_up = {
        0: (day - 2 * DAY, day, None),  # Saturday to Monday
        1: (day - 2 * DAY, day, day - 3 * DAY),  # Sunday to Tuesday, Saturday worked
        2: (day, day, None),  # Wednesday alone
        3: (day, day + 2 * DAY, day + 3 * DAY),  # Thursday to Saturday, Sunday worked
        4: (day, day + 2 * DAY, None),  # Friday to Sunday
        5: (day, day + 2 * DAY, None),  # Saturday to Monday
        6: (day - DAY, day + DAY, None),  # Saturday to Monday
    }[weekday]
    for rest in _days(first, last):
        holidays.setdefault(rest, holiday)
    if made_up is not None and made_up not in holidays:
        makeups.add(made_up)


def _long_break(holiday: Holiday, span: list[dt.date], statutory: list[dt.date], holidays: dict, makeups: set):
    """`span` off; the weekdays in it beyond the statutory days' worth made up on the nearest
    weekend days outside it, taking each side in turn, the nearer side first."""
    for day in span:
        holidays[day] = holiday
    needed = sum(day.weekday() < 5 for day in span) - len(statutory)
    before = _weekend_days(span[0], -1, holidays, makeups)
    after = _weekend_days(span[-1], 1, holidays, makeups)
    sides = [before, after]
    nearer_first = (span[0] - before[0]) <= (after[0] - span[-1])
    order = sides if nearer_first else sides[::-1]
    taken = 0
    while taken < needed:
        makeups.add(order[taken % 2][taken // 2])
        taken += 1


def _weekend_days(edge: dt.date, step: int, holidays: dict, makeups: set) -> list[dt.date]:
    """The first few weekend days from `edge` outwards that no break or make-up has taken."""
    found: list[dt.date] = []
    day = edge
    while len(found) < 4:
        day += step * DAY
        if day.weekday() >= 5 and day not in holidays and day not in makeups:
            found.append(day)
    return found


def qingming(year: int) -> dt.date:
    """清明 (the solar term Pure Brightness), by the 寿星 formula: [Y·D + C] − [Y/4] with Y the
    year's last two digits, D = 0.2422, C = 5.59 in the 20th century and 4.81 in the 21st."""
    y = year % 100
    c = 5.59 if year < 2000 else 4.81
    return dt.date(year, 4, int(y * 0.2422 + c) - y // 4)


def lunar_to_solar(year: int, month: int, day: int) -> dt.date:
    """The solar date of lunar `month`-`day` in lunar `year`. Outside the years lunardate
    converts, the same lunar date a whole number of 19-year cycles away, moved back by as many
    years (close to within a day or two: provisional either way)."""
    shift = 0
    while year + shift not in LUNAR_YEARS:
        shift += METONIC_YEARS if year < LUNAR_YEARS.start else -METONIC_YEARS
    solar = LunarDate(year + shift, month, day).to_solar_date()
    try:
        return solar.replace(year=solar.year - shift)
    except ValueError:  # 29 February in a year without it
        return (solar - DAY).replace(year=solar.year - shift)
