package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Locale is what a language needs besides its catalogue: its name in its own script
// (the chooser shows every language so, for a person who reads no other), its
// direction, and how it writes dates and numbers. A catalogue file without a locale here
// is refused at start (TestLanguagesFromFiles).
type Locale struct {
	Code string // BCP 47, as in the catalogue's file name and the lang cookie
	Name string // in its own script: a person finds their language without reading French
	RTL  bool
	// months are the month names as they read inside a date ("3 mars 2026"): genitive
	// where the language declines them (uk, ru); alone, as they read by themselves ("mars
	// 2026"), where they differ (nominative, uk and ru: "грудень 2025", not "грудня").
	months, alone [12]string
	// day formats a date from the day, the month's name and the year (%[1]s %[2]s %[3]s),
	// at adds the hour (%[4]s) to a date (%[1]s).
	day, at string
	// zero is the digit zero of the language's numbers; the others follow it in Unicode.
	zero rune
	// clock formats the hour (time.Format layout).
	clock string
	// first is the first day of a month where it is not written "1": "1er" in French.
	first string
}

// locales lists every language Coffre can speak, in the order the chooser shows them:
// French first, then by the number of people the CCAS meet who read it. Which of them
// are offered depends on the catalogue files present (Languages).
//
// Digits: Arabic is written with the digits 0–9, as in the Maghreb and in France, where
// the papers and phone numbers the person reads use them; Dari and Pashto use the
// Persian digits (۰–۹) of Afghanistan's schools and papers.
var locales = []Locale{ //nolint:gochecknoglobals // a constant table
	{Code: "fr", Name: "Français", months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s à %[2]s", zero: '0', clock: "15h04", first: "1er"},
	{Code: "en", Name: "English", months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s at %[2]s", zero: '0', clock: "15:04"},
	{Code: "ar", Name: "العربية", RTL: true, months: [12]string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s، الساعة %[2]s", zero: '0', clock: "15:04"},
	{Code: "uk", Name: "Українська", months: [12]string{"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"},
		alone: [12]string{"січень", "лютий", "березень", "квітень", "травень", "червень", "липень", "серпень", "вересень", "жовтень", "листопад", "грудень"},
		day:   "%[1]s %[2]s %[3]s р.", at: "%[1]s о %[2]s", zero: '0', clock: "15:04"},
	{Code: "ru", Name: "Русский", months: [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"},
		alone: [12]string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"},
		day:   "%[1]s %[2]s %[3]s г.", at: "%[1]s в %[2]s", zero: '0', clock: "15:04"},
	{Code: "fa-AF", Name: "دری", RTL: true, months: [12]string{"جنوری", "فبروری", "مارچ", "اپریل", "می", "جون", "جولای", "اگست", "سپتمبر", "اکتوبر", "نومبر", "دسمبر"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s، ساعت %[2]s", zero: '۰', clock: "15:04"},
	{Code: "ps", Name: "پښتو", RTL: true, months: [12]string{"جنوري", "فبروري", "مارچ", "اپریل", "مۍ", "جون", "جولای", "اګست", "سېپتمبر", "اکتوبر", "نومبر", "دسمبر"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s، ساعت %[2]s", zero: '۰', clock: "15:04"},
	{Code: "es", Name: "Español", months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		day: "%[1]s de %[2]s de %[3]s", at: "%[1]s a las %[2]s", zero: '0', clock: "15:04"},
	{Code: "ro", Name: "Română", months: [12]string{"ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august", "septembrie", "octombrie", "noiembrie", "decembrie"},
		day: "%[1]s %[2]s %[3]s", at: "%[1]s, ora %[2]s", zero: '0', clock: "15:04"},
	{Code: "pt", Name: "Português", months: [12]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
		day: "%[1]s de %[2]s de %[3]s", at: "%[1]s às %[2]s", zero: '0', clock: "15:04"},
}

// LocaleOf returns the locale of a language code; French's for an unknown one.
func LocaleOf(code string) Locale {
	for _, l := range locales {
		if l.Code == code {
			return l
		}
	}
	return locales[0]
}

// Dir is the value of the page's dir attribute.
func (l Locale) Dir() string {
	if l.RTL {
		return "rtl"
	}
	return "ltr"
}

// Digits writes the ASCII digits of s with the language's own.
func (l Locale) Digits(s string) string {
	if l.zero == '0' {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return l.zero + (r - '0')
		}
		return r
	}, s)
}

// Date writes a day with the month in words: "3 mars 2026", "1er décembre 2026",
// "3 مارس 2026".
func (l Locale) Date(t time.Time) string {
	day := l.Digits(strconv.Itoa(t.Day()))
	if t.Day() == 1 && l.first != "" {
		day = l.first
	}
	return fmt.Sprintf(l.day, day, l.months[t.Month()-1], l.Digits(strconv.Itoa(t.Year())))
}

// DateTime writes a day and its hour: "3 mars 2026 à 14h05".
func (l Locale) DateTime(t time.Time) string {
	return fmt.Sprintf(l.at, l.Date(t), l.Clock(t))
}

// Clock gives the hour alone: "14h05", "١٤:٠٥".
func (l Locale) Clock(t time.Time) string {
	return l.Digits(t.Format(l.clock))
}

// Month names a month: "mars 2026", "грудень 2025".
func (l Locale) Month(t time.Time) string {
	name := l.alone[t.Month()-1]
	if name == "" {
		name = l.months[t.Month()-1]
	}
	return name + " " + l.Digits(strconv.Itoa(t.Year()))
}

// number is an integer argument of a message, written with the language's digits
// whatever the verb (%d, %v).
type number struct {
	n int64
	l Locale
}

func (n number) Format(f fmt.State, verb rune) {
	s := strconv.FormatInt(n.n, 10)
	if w, ok := f.Width(); ok && len(s) < w {
		s = strings.Repeat(" ", w-len(s)) + s
	}
	fmt.Fprint(f, n.l.Digits(s))
}

// localArgs wraps the integer arguments of a message so that they are written with the
// language's digits.
func (l Locale) localArgs(args []any) []any {
	if l.zero == '0' {
		return args
	}
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			out[i] = number{int64(v), l}
		case int64:
			out[i] = number{v, l}
		case int32:
			out[i] = number{int64(v), l}
		default:
			out[i] = a
		}
	}
	return out
}
