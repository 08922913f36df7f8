// Event display rendering (placeholder).
