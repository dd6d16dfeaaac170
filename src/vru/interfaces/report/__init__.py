"""The Strategic Needs Assessment report: one self-contained HTML file, its figures as JSON
and CSV, the mapped layers as a GeoPackage and the charts as SVG (``builder.write_report``)."""
