// Gives Wagtail's bulk-action bar the words of one listing ("3 leads selected"): the script tag's
// data attributes hold the translated texts, keyed by the footer's data-bulk-action-footer type.
(() => {
  const { itemType, singular, plural, all, allInListing } = document.currentScript.dataset;
  window.wagtailConfig.STRINGS.BULK_ACTIONS[itemType] = {
    SINGULAR: singular,
    PLURAL: plural,
    ALL: all,
    ALL_IN_LISTING: allInListing,
  };
})();
