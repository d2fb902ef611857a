"""What each picture view shows, as plain arrays, levels and tables: the data behind the
heatmaps, the carousel, the flow views and the bar plot, and the colour maps
(docs/architecture.md). Never imports Qt."""
