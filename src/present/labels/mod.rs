//! The label catalogue: every text this product shows to people — pages,
//! charts, reports, e-mail, sign-in, table and export headers, number
//! style — in one file per language (`vi.rs`, `en.rs`), grouped by where it
//! appears. Code asks [`of`] for the reader's language and reads a field;
//! it never branches on the language to pick a text. A template's
//! `{name}` placeholders are filled by [`fill`].
//!
//! Each group is a struct declared here with `group!`, so a key missing
//! from one language, or present only in one, does not compile; the tests
//! below check what the compiler cannot (same placeholders in both
//! languages, no empty text, NFC). Adding a language is one more file.

mod en;
mod vi;

/// Declares a group of labels: a struct of texts, and its entries by key.
macro_rules! group {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident),* $(,)? }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: &'static str,)*
        }

        impl $name {
            /// Every label of the group, by key.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($field), self.$field)),*]
            }
        }
    };
}

/// The languages of the catalogue: Vietnamese first, English the alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language's code (BCP 47), as in `lang=` and `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language, for a page's language switch.
    pub fn other(self) -> Self {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// Of a reference table's two names (its Vietnamese and English
    /// columns), the one in this language. Names are data, not labels.
    pub fn name<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// All labels of one language.
pub struct Labels {
    pub number: Number,
    pub units: Units,
    pub standing: Standing,
    pub page: Page,
    pub outlook_tiles: OutlookTiles,
    pub chart: Chart,
    pub targets: Targets,
    pub release: Release,
    pub email: Email,
    pub signin: Signin,
    pub report: Report,
    pub workbook: Workbook,
    pub export: Export,
    pub nav: Nav,
    pub dates: Dates,
    pub filing: Filing,
    pub rejection: Rejection,
    pub refusal: Refusal,
    pub admin: Admin,
    pub queries: Queries,
    pub outlook: Outlook,
}

impl Labels {
    /// Every label, by group and key.
    pub fn entries(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let groups = [
            ("number", self.number.entries()),
            ("units", self.units.entries()),
            ("standing", self.standing.entries()),
            ("page", self.page.entries()),
            ("outlook_tiles", self.outlook_tiles.entries()),
            ("chart", self.chart.entries()),
            ("targets", self.targets.entries()),
            ("release", self.release.entries()),
            ("email", self.email.entries()),
            ("signin", self.signin.entries()),
            ("report", self.report.entries()),
            ("workbook", self.workbook.entries()),
            ("export", self.export.entries()),
            ("admin", self.admin.entries()),
            ("nav", self.nav.entries()),
            ("dates", self.dates.entries()),
            ("queries", self.queries.entries()),
            ("filing", self.filing.entries()),
            ("rejection", self.rejection.entries()),
            ("refusal", self.refusal.entries()),
            ("outlook", self.outlook.entries()),
        ];
        groups
            .into_iter()
            .flat_map(|(group, entries)| entries.into_iter().map(move |(key, text)| (group, key, text)))
            .collect()
    }
}

/// The catalogue of `lang`.
pub fn of(lang: Lang) -> &'static Labels {
    match lang {
        Lang::Vi => &vi::VI,
        Lang::En => &en::EN,
    }
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            values
                .iter()
                .find(|(n, _)| *n == &after[..close])
                .map(|(_, v)| (v, close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

group! {
    /// How numbers are written.
    Number {
        /// Between groups of three digits.
        thousands,
        /// Before the fractional digits.
        point,
    }
}

group! {
    /// Figures with their unit; `{n}` is the number, `{sign}` its sign.
    Units {
        percent,
        points,
        billion_dong,
    }
}

group! {
    /// A figure's standing against its target (glossary: đạt / chưa đạt).
    Standing {
        met,
        below,
        no_target,
        no_data,
        suppressed,
    }
}

group! {
    /// The steering committee's dashboard pages.
    Page {
        title,
        subtitle,
        other_lang,
        latest_month,
        ytd,
        target,
        gap,
        needed,
        change,
        filters,
        from,
        to,
        district,
        sector,
        all,
        apply,
        districts_table,
        sectors_table,
        communes_table,
        commune,
        series_break,
        total_retail,
        ecommerce,
        share,
        rank,
        filings,
        status,
        describe,
        month,
        dataset,
        province_total,
        /// A month in running text; `{month}`, `{year}`.
        month_of_year,
        /// What the e-commerce still needed is measured in.
        needed_unit,
        /// A district page's heading; `{type}` (thành phố, huyện…), `{name}`.
        district_heading,
        /// The heading with the district's rank; `{name}`, `{rank}`, `{of}`.
        ranked_heading,
        /// A sector page's heading; `{name}`.
        sector_heading,
        /// A table's download links, under its caption.
        download_excel,
        download_csv,
        /// A download link's accessible name; `{link}` (its text), `{table}` (the caption).
        download_named,
        /// Sheet names of the tables' downloads (at most 31 characters, no `/`).
        trend_sheet,
        district_sector_sheet,
        communes_sheet,
        /// The table of the yearly chart: its sheet, the year column, and
        /// the first and last months of a year's figures.
        years_sheet,
        year,
        from_month,
        through_month,
        /// Under a downloaded table with a withheld figure; `{withheld}` (the
        /// mark), `{min}` enterprises, `{largest}`, `{percent}`.
        withheld_note,
    }
}

group! {
    /// The dashboard's outlook tiles (`present::dashboard_outlook`): the
    /// full year's projection, the e-commerce needed per remaining month,
    /// e-commerce growth and communes selling online.
    OutlookTiles {
        /// Above the tiles: `{year}`, `{scope}` (the outlook's scope names).
        heading,
        /// The projection tile before the year is complete: `{year}`.
        projection,
        /// The same tile once the year is complete: `{year}`.
        full_year,
        /// A projection with its interval: `{share}`, `{low}` (a number),
        /// `{high}` (a percentage).
        with_interval,
        /// A status against a target; `{target}` (its value, for the share
        /// with its programme).
        on_track,
        at_risk,
        off_track,
        met,
        below,
        /// A projection without an interval; `{target}`.
        insufficient_history,
        /// The interval's level and the earlier years it was tested on:
        /// `{level}`, `{years}`.
        interval_note,
        /// The last month with data: `{month}`.
        through,
        /// The tile of the e-commerce needed per remaining month.
        needed,
        /// Its note: `{months}` (how many remain), `{target}` (a percentage).
        needed_note,
        growth,
        /// The months compared: `{from}`, `{to}`.
        growth_period,
        communes,
        /// The months counted: `{from}`, `{to}`.
        communes_period,
        /// Instead of the tiles when the filters select what the outlook
        /// does not cover (a sector, several districts).
        not_for_filter,
    }
}

group! {
    /// The dashboard's charts: titles (`{range}` is the months shown),
    /// the target line and the trend's legend.
    Chart {
        /// The months a chart covers; `{from}`, `{to}` (month/year).
        range,
        districts,
        sectors,
        heatmap,
        map,
        trend,
        /// The target line; `{target}` is a percentage, `{program}` the
        /// programme it is of.
        target,
        legend_share,
        legend_last_year,
        /// The yearly chart's title: `{from}`, `{to}` (its first and last years).
        years,
        /// The yearly chart's bars.
        legend_year,
        /// The line of the target governing each year (trend and yearly charts).
        governing,
        /// A year with figures for some of its months only (the year to
        /// date, the first year of the data) on the yearly chart's axis:
        /// `{from}`, `{to}` (its first and last months with figures), `{year}`…
        year_part_axis,
        /// … and with one month only: `{month}`, `{year}`.
        year_month_axis,
        /// The yearly chart's legend for such a year: `{label}` (its axis
        /// label), `{months}` (how many months it has).
        year_part,
    }
}

group! {
    /// The targets' programmes as they are named and read wherever a
    /// target is shown (tiles, charts, tables, the report).
    Targets {
        /// The programme of the former three-column targets table.
        legacy,
        /// After a target: `{program}`.
        under,
        /// A column, or a line of a summary, naming the programme.
        column,
        /// Above a table: `{year}`, `{target}` (a percentage), `{program}`.
        note,
        /// Above a table when no programme has a target: `{year}`.
        note_none,
        /// A target with no upper bound: `{low}`.
        at_least,
        /// How a programme's value came about: a point target, a year on a path.
        point,
        path,
        /// One programme's value: `{program}`, `{value}`, `{kind}`.
        value,
    }
}

group! {
    /// How final a month's figures are, and the response rate, wherever
    /// figures are shown (tiles, the trend chart, tables, the report).
    Release {
        /// The three release states, as a tile's mark or a table's cell.
        estimate,
        preliminary,
        final_state,
        /// A column naming the release state.
        column,
        /// A column, or a tile's line, of the response rate.
        response_rate,
        /// A tile's line: `{rate}` (a percentage).
        response_line,
        /// The trend chart's legend for its hollow points.
        hollow,
        /// The yearly chart's legend for its hollow bars.
        hollow_bars,
        /// The report: the months whose figures are not final yet,
        /// `{list}` (each "month (state)").
        not_final,
        /// The report, when every month it shows is final.
        all_final,
        /// The workbook's summary line holding `not_final` or `all_final`.
        not_final_heading,
        /// A month and its state in `not_final`: `{month}`, `{state}`.
        month_state,
        /// The methodology: `{deadline_day}`, `{final_after_months}`.
        method,
        /// The methodology: how the response rate is counted.
        method_response,
    }
}

group! {
    /// The e-mail that delivers a report.
    Email {
        /// `{month}` (two digits), `{year}`.
        subject,
        /// `{headline}`, `{files}`, `{version}`, `{committed_at}`, `{sha256}`.
        body,
        /// `{month}` (YYYY-MM), `{share}`, `{year_to_date}`, `{target}`
        /// (with its programme), `{status}`.
        headline,
        status_met,
        status_below,
        status_unknown,
    }
}

group! {
    /// The header every page shares: the site, its pages, the reader's
    /// role, the language switch, signing in and out; and the page a role
    /// is refused.
    Nav {
        site,
        skip,
        nav_label,
        dashboard,
        queries,
        upload,
        history,
        reports,
        tokens,
        /// This language's own name, on the other language's switch.
        language_name,
        /// `{role}`.
        signed_in_as,
        open_mode,
        signin,
        signout,
        role_viewer,
        role_analyst,
        role_filer,
        role_admin,
        forbidden_title,
        /// `{role}`.
        forbidden_text,
        error_title,
        /// Before the error's stable code.
        error_code,
        error_csrf_failed,
        error_not_found,
        error_internal,
        error_home,
    }
}

group! {
    /// The year's outlook as a text table (`ecomshare outlook --format
    /// table`): line labels, the statuses in words, the path's columns.
    Outlook {
        /// `{year}`, `{scope}`.
        title,
        province,
        /// `{name}`, `{code}`.
        district,
        /// `{name}`, `{code}`.
        commune,
        through,
        no_month,
        version,
        ytd_share,
        ytd_total,
        ytd_ecommerce,
        projection,
        /// `{low}`, `{high}`, `{level}`, `{years}`.
        interval,
        no_interval,
        target,
        status,
        needed,
        growth,
        communes,
        /// An indicator's value and target; `{value}`, `{target}`.
        against,
        on_track,
        at_risk,
        off_track,
        insufficient_history,
        /// Figures withheld by disclosure control.
        withheld,
        path,
        year,
        program,
        value,
    }
}

group! {
    /// The trade officials' query pages: the list of named queries, a
    /// query's form, its result and downloads.
    Queries {
        list_title,
        list_intro,
        /// `{n}`: how many queries.
        list_caption,
        col_query,
        col_description,
        col_access,
        col_source,
        /// Short names of the two accesses (`protected`, `full`).
        access_protected_name,
        access_full_name,
        /// What each access means, in words.
        access_protected,
        access_full,
        source_builtin,
        source_file,
        problems_title,
        problems_intro,
        col_file,
        col_problem,
        unknown_title,
        back,
        error_title,
        not_run,
        params_legend,
        run,
        all_districts,
        all_sectors,
        all_communes,
        all_vsic,
        result_title,
        /// `{version}`.
        computed_from,
        /// `{total}`.
        row_count,
        /// `{version}`.
        permalink,
        downloads,
        /// `{version}`.
        downloads_note,
        /// `{withheld}`: the mark of a withheld cell.
        withheld_note,
        /// `{title}`, `{shown}`, `{total}`.
        caption_part,
        /// `{title}`, `{total}`.
        caption_all,
        no_rows,
        /// `{shown}`, `{total}`.
        truncated,
        unit_dong,
        yes,
        no,
        format_xlsx,
        format_csv,
        format_parquet,
        format_arrow,
        format_json,
    }
}

group! {
    /// How days and instants are written (in Vietnam's time).
    Dates {
        /// `{hour}`, `{minute}`, `{day}`, `{month}`, `{year}`.
        datetime,
        /// `{day}`, `{month}`, `{year}`.
        date,
    }
}

group! {
    /// The sign-in page.
    Signin {
        title,
        token,
        submit,
        refused,
    }
}

group! {
    /// The monthly report's page and PDF: title, sections, their columns
    /// and lines, and the methodology.
    Report {
        title,
        /// The HTML page's title before the month.
        html_title,
        version,
        headline,
        month_share,
        ytd_share,
        year_target,
        ytd_gap,
        ytd_status,
        needed,
        on_previous_month,
        on_last_year,
        districts,
        code,
        district,
        total_retail,
        ecommerce,
        share,
        gap,
        rank,
        change_previous,
        change_last_year,
        sectors,
        sector,
        quality,
        filings,
        units,
        previous_filings,
        previous_units,
        files,
        received,
        rejected,
        revised,
        methodology,
        /// Under the districts when their comparisons cross the 2025 reform.
        series_break,
        communes,
        commune,
        former_district,
        method_share,
        method_revision,
        method_targets,
        /// `{year}`, `{list}` (each programme's value), `{governing}`.
        method_programs,
        /// `{year}`: no programme has a target for it.
        method_programs_none,
        method_exact,
        /// `{units}` (communes), `{spanning}` (the units spanning two former districts).
        method_reform,
        /// One spanning unit: `{name}`, `{code}`, `{district}`, `{others}`.
        method_spanning,
        /// `{min}` enterprises, `{largest}`, `{percent}`, `{withheld}` (the mark).
        method_disclosure,
        /// The outlook section's heading: `{year}`.
        outlook,
        /// A month not final, or the outlook's last month with data:
        /// `{month}`, `{state}` (its release state), `{rate}` (its response
        /// rate).
        month_release,
        /// The line of the e-commerce revenue needed per remaining month
        /// (the value in tỷ đồng).
        needed_monthly,
        /// The paths table's heading: `{from}`, `{to}` (years).
        paths,
        /// Under the paths table: what its cells are.
        paths_note,
        /// The methodology: the projection; `{method}` (its code).
        method_outlook,
        /// The methodology: the interval; `{level}` (a percentage),
        /// `{fraction}` (the level as a decimal), `{year}`, `{years}` (used
        /// this year).
        method_interval,
        /// The methodology: the outlook's statuses; `{met}`, `{below}`,
        /// `{on_track}`, `{at_risk}`, `{off_track}`, `{insufficient}`.
        method_outlook_status,
        /// The methodology: the e-commerce needed per remaining month.
        method_needed,
        /// The methodology: the two indicators; `{on_track}`, `{at_risk}`.
        method_indicators,
        /// The methodology: the projection's limits; `{level}`.
        method_outlook_limits,
    }
}

group! {
    /// The monthly report's workbook: its title, sheet names, column
    /// headers and the summary's lines.
    Workbook {
        title,
        summary,
        item,
        value,
        report_month,
        version,
        committed_at,
        year_target,
        month_share,
        month_total,
        month_ecommerce,
        ytd_share,
        ytd_gap,
        ytd_status,
        needed,
        on_previous_month,
        on_last_year,
        effective_filings,
        reporting_units,
        previous_filings,
        rejected,
        revised,
        sha256,
        total_retail,
        ecommerce,
        share,
        target,
        gap,
        status,
        filings,
        units,
        districts,
        district_code,
        district,
        rank,
        change_previous,
        change_last_year,
        sectors,
        sector_code,
        sector,
        district_sector,
        communes,
        commune_code,
        commune,
        former_district,
        trend,
        month,
        methodology,
        methodology_column,
        /// The outlook's sheet, and its lines.
        outlook,
        year,
        through,
        projection,
        interval_level,
        interval_low,
        interval_high,
        backtest_years,
        target_low,
        target_high,
        needed_monthly,
        growth_target,
        growth_status,
        communes_target,
        communes_status,
        /// The paths' sheet, and its columns.
        paths,
        low,
        high,
    }
}

group! {
    /// The share figures as a text table: column headers, the total's
    /// label and the standing in words.
    Export {
        total_retail,
        ecommerce,
        share,
        target,
        gap,
        status,
        filings,
        units,
        total,
        met,
        below,
        no_target,
        no_data,
    }
}

group! {
    /// The administrators' pages: the report archive, generating a month's
    /// report, the deliveries and their retry; the access tokens.
    Admin {
        reports_title,
        reports_intro,
        archive_heading,
        archive_caption,
        archive_empty,
        col_month,
        col_language,
        col_version,
        col_files,
        /// `{version}`, `{time}` (the version's commit).
        version_of,
        file_pdf,
        file_xlsx,
        file_html,
        file_json,
        /// `{n}` kilobytes.
        size_kb,
        generate_heading,
        generate_legend,
        /// `{version}`: the current dataset version.
        generate_note,
        month_label,
        language_label,
        generate_submit,
        /// `{month}`.
        generated,
        /// `{month}`.
        kept,
        month_invalid,
        /// `{code}`: the error's stable code.
        generate_failed,
        deliveries_heading,
        deliveries_caption,
        deliveries_empty,
        col_recipient,
        col_report,
        col_state,
        col_attempts,
        col_last_attempt,
        col_last_error,
        col_action,
        channel_webhook,
        channel_email,
        /// `{month}`, `{language}`, `{version}`.
        report_of,
        state_pending,
        state_sending,
        state_delivered,
        state_failed,
        /// `{time}`.
        next_attempt,
        /// `{time}`.
        delivered_at,
        /// The list of an e-mail delivery's addresses (its accessible name).
        addresses_label,
        /// `{address}`, `{state}` (one of the `state_…` texts).
        address_state,
        not_attempted,
        /// `{status}`: the HTTP status or SMTP reply code.
        error_status,
        no_error,
        retry,
        /// `{recipient}`, `{month}`.
        retried,
        unknown_delivery,
        not_failed,
        times_note,
        tokens_title,
        tokens_intro,
        tokens_heading,
        tokens_caption,
        tokens_empty,
        col_name,
        col_id,
        col_role,
        col_created,
        col_expires,
        col_last_used,
        never_expires,
        never_used,
        token_active,
        token_expired,
        token_revoked,
        current_token,
        revoke,
        /// `{minutes}`.
        last_used_note,
        /// `{id}`, `{name}`.
        revoked,
        unknown_token,
        create_heading,
        create_legend,
        role_label,
        name_label,
        expires_label,
        create_submit,
        first_token_note,
        created_heading,
        /// `{id}`, `{name}`.
        created,
        new_token_label,
        copy,
        copied,
        copy_failed,
        role_invalid,
        /// `{max}` characters.
        name_invalid,
        expiry_invalid,
        expiry_past,
    }
}

group! {
    /// The filers' pages: the upload form with the columns and rules of a
    /// filing, the ingest report, the batches sent, the rejections download.
    Filing {
        upload_title,
        upload_intro,
        file_label,
        /// `{limit}`: the largest upload.
        file_hint,
        options_legend,
        sheet_label,
        sheet_hint,
        encoding_label,
        encoding_auto,
        delimiter_label,
        delimiter_auto,
        delimiter_comma,
        delimiter_semicolon,
        delimiter_tab,
        locale_label,
        locale_plain,
        locale_vi,
        submit,
        progress_label,
        /// `{percent}` (filled by the page's script).
        progress_percent,
        processing,
        upload_failed,
        /// `{n}` megabytes.
        size_mb,
        /// `{n}` bytes.
        size_bytes,
        templates_heading,
        template_xlsx,
        template_csv,
        columns_heading,
        columns_caption,
        column_header,
        column_name,
        column_required,
        column_rule,
        required_yes,
        required_no,
        col_unit_id,
        col_district_code,
        col_commune_code,
        col_sector_code,
        col_period,
        col_total_revenue_vnd,
        col_ecommerce_revenue_vnd,
        col_submitted_at,
        col_weight,
        col_unit_name,
        rules_heading,
        rule_rows,
        rule_records,
        rule_whole_file,
        rule_revisions,
        /// `{file}`, `{version}`.
        duplicate,
        /// `{version}`.
        duplicate_link,
        refused_title,
        refused_nothing,
        refused_detail,
        /// `{version}`.
        report_title,
        /// `{version}`, `{time}`.
        committed,
        files_caption,
        file,
        records,
        accepted,
        rejected,
        /// `{version}`.
        file_duplicate,
        all_accepted,
        rejections_heading,
        /// `{total}`.
        rejections_caption,
        /// `{shown}`, `{total}`.
        rejections_shown,
        record,
        column,
        value,
        reason,
        message,
        fix,
        empty_value,
        whole_record,
        download_text,
        download_xlsx,
        download_csv,
        upload_again,
        /// The XLSX download's sheet (31 characters at most).
        rejections_sheet,
        history_title,
        history_caption,
        history_empty,
        version,
        /// `{version}`.
        version_link,
        committed_at,
        submitted_by,
        /// A date and time (chrono's strftime), in Asia/Ho_Chi_Minh.
        date_time,
    }
}

group! {
    /// A rejected record's reason: for each reason code, what is wrong
    /// (`code`) and what to do (`code_fix`).
    Rejection {
        malformed_row,
        malformed_row_fix,
        missing_field,
        missing_field_fix,
        invalid_unit_id,
        invalid_unit_id_fix,
        unknown_district,
        unknown_district_fix,
        code_not_in_force,
        code_not_in_force_fix,
        unknown_commune,
        unknown_commune_fix,
        unknown_sector,
        unknown_sector_fix,
        invalid_period,
        invalid_period_fix,
        future_period,
        future_period_fix,
        invalid_amount,
        invalid_amount_fix,
        negative_amount,
        negative_amount_fix,
        amount_out_of_range,
        amount_out_of_range_fix,
        invalid_weight,
        invalid_weight_fix,
        invalid_timestamp,
        invalid_timestamp_fix,
        ecommerce_exceeds_total,
        ecommerce_exceeds_total_fix,
    }
}

group! {
    /// Why a whole upload was refused (nothing committed), by the error's
    /// code, with what to do; `other` for any other code.
    Refusal {
        not_utf8,
        invalid_encoding,
        invalid_workbook,
        unknown_sheet,
        workbook_too_large,
        sheet_too_large,
        empty_file,
        missing_columns,
        duplicate_column,
        invalid_json,
        unsupported_format,
        format_mismatch,
        too_many_records,
        /// `{limit}`: the largest upload.
        payload_too_large,
        invalid_input_options,
        no_file,
        invalid_body,
        busy,
        internal,
        other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use unicode_normalization::UnicodeNormalization;

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            out.insert(after[..close].to_string());
            rest = &after[close + 1..];
        }
        out
    }

    /// The Vietnamese text is the reference: a translation may leave a
    /// value out (English names a district without its type), never name
    /// one the Vietnamese does not (a misspelt placeholder would be shown).
    #[test]
    fn every_key_is_in_both_languages_and_translations_use_known_placeholders() {
        let vi = of(Lang::Vi).entries();
        let en = of(Lang::En).entries();
        let keys = |e: &[(&str, &str, &str)]| e.iter().map(|(g, k, _)| format!("{g}.{k}")).collect::<Vec<_>>();
        assert_eq!(keys(&vi), keys(&en), "the languages have different keys");
        for ((group, key, v), (_, _, e)) in vi.iter().zip(&en) {
            assert!(!v.is_empty() && !e.is_empty(), "{group}.{key} is empty in a language");
            let unknown: Vec<_> = placeholders(e).difference(&placeholders(v)).cloned().collect();
            assert!(
                unknown.is_empty(),
                "{group}.{key}: English uses {unknown:?}, unknown to Vietnamese"
            );
        }
    }

    #[test]
    fn texts_are_nfc() {
        for lang in [Lang::Vi, Lang::En] {
            for (group, key, text) in of(lang).entries() {
                assert_eq!(text.nfc().collect::<String>(), text, "{group}.{key} is not NFC");
            }
        }
    }

    #[test]
    fn fill_replaces_named_placeholders_and_keeps_other_braces() {
        assert_eq!(
            fill("tháng {month}/{year}", &[("month", "7"), ("year", "2025")]),
            "tháng 7/2025"
        );
        assert_eq!(fill("{a} {b} {", &[("a", "1")]), "1 {b} {");
    }
}
